/**
 * Byte-level BPE tokenizer over the real Hugging Face tokenizer.json format, via @huggingface/tokenizers
 * (the tokenizer of transformers.js).
 *
 * `encode` treats its input as TEXT: special tokens written in it (<|im_end|>, <|image_pad|>, ...) are tokenized as
 * the characters they are, like HF's `split_special_tokens=True`, so no input string can produce a special-token id.
 * The library matches every added token before BPE, so the text encoder is built from the tokenizer.json with the
 * special added tokens left out; non-special added tokens (Qwen's <tool_call>, <think>, ...) still match as HF does.
 * Special ids enter a prompt only through `tokenId`, which the chat template (core/text/chat_template.ts) uses.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { DataFormatError } from "../errors.ts";

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

/** A Hugging Face tokenizer.json (byte-level BPE) that encodes text as text; see the module comment. */
export class TextTokenizer {
  /** Encoder and decoder for everything but the special tokens (they are not in its added tokens). */
  readonly #text: Tokenizer;
  readonly #vocab: Map<string, number>;
  /** Special token id -> its content. */
  readonly #special: Map<number, string>;
  /** Largest id + 1 over the BPE vocabulary and the added tokens. */
  readonly size: number;

  private constructor(text: Tokenizer, vocab: Map<string, number>, special: Map<number, string>) {
    this.#text = text;
    this.#vocab = vocab;
    this.#special = special;
    // A loop, not Math.max(...values): spreading Qwen's 151k ids as arguments overflows the stack.
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.size = max + 1;
  }

  /** Load tokenizer.json text (or parsed object); `source` names the file in errors. */
  static fromJson(json: string | Record<string, unknown>, source = "tokenizer.json"): TextTokenizer {
    const obj = typeof json === "string" ? JSON.parse(json) as Record<string, unknown> : json;
    const model = obj.model as { type?: string; vocab?: Record<string, number> } | undefined;
    if (!model || model.type !== "BPE" || typeof model.vocab !== "object" || model.vocab === null) {
      throw new DataFormatError(source, "model", "a BPE model with a vocab object");
    }
    const added = (obj.added_tokens ?? []) as AddedToken[];
    if (!Array.isArray(added)) throw new DataFormatError(source, "added_tokens", "an array");
    const vocab = new Map(Object.entries(model.vocab));
    const special = new Map<number, string>();
    for (const t of added) {
      vocab.set(t.content, t.id);
      if (t.special) special.set(t.id, t.content);
    }
    const text = new Tokenizer({ ...obj, added_tokens: added.filter((t) => !t.special) }, {
      clean_up_tokenization_spaces: false,
    });
    return new TextTokenizer(text, vocab, special);
  }

  /** Loads a tokenizer.json file. */
  static async fromFile(path: string): Promise<TextTokenizer> {
    return TextTokenizer.fromJson(await Deno.readTextFile(path), path);
  }

  /** Token ids of `text` as plain text: never a special-token id. No BOS/EOS is added. */
  encode(text: string): number[] {
    return this.#text.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token strings (byte-level symbols) of `text`, as `encode` splits it. */
  tokenize(text: string): string[] {
    return this.#text.tokenize(text, { add_special_tokens: false });
  }

  /** Text of `ids`; special tokens appear as their content unless `skipSpecialTokens`. */
  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    let out = "";
    let run: number[] = [];
    const flush = () => {
      if (run.length) out += this.#text.decode(run, { skip_special_tokens: false });
      run = [];
    };
    for (const id of ids) {
      const special = this.#special.get(id);
      if (special === undefined) {
        run.push(id);
        continue;
      }
      flush();
      if (!opts.skipSpecialTokens) out += special;
    }
    flush();
    return out;
  }

  /** True for the id of a special (control) token such as <|im_end|>. */
  isSpecial(id: number): boolean {
    return this.#special.has(id);
  }

  /** Id of a token string (e.g. "<|im_end|>"); throws DataFormatError naming the token if absent. */
  tokenId(token: string): number {
    const id = this.#vocab.get(token);
    if (id === undefined) throw new DataFormatError("tokenizer.json", "vocab", `a token ${JSON.stringify(token)}`);
    return id;
  }
}
