/**
 * Byte-level BPE tokenizer over the real Hugging Face tokenizer.json format, via @huggingface/tokenizers
 * (the tokenizer of transformers.js). Special/added tokens such as <|image_pad|> are matched before BPE.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { DataFormatError } from "../errors.ts";

export class TextTokenizer {
  readonly #tok: Tokenizer;
  readonly #vocab: Map<string, number>;
  /** Largest id + 1 over the BPE vocabulary and the added tokens. */
  readonly size: number;

  private constructor(tok: Tokenizer, vocab: Map<string, number>) {
    this.#tok = tok;
    this.#vocab = vocab;
    this.size = Math.max(...vocab.values()) + 1;
  }

  /** Load tokenizer.json text (or parsed object); `source` names the file in errors. */
  static fromJson(json: string | Record<string, unknown>, source = "tokenizer.json"): TextTokenizer {
    const obj = typeof json === "string" ? JSON.parse(json) as Record<string, unknown> : json;
    const model = obj.model as { type?: string; vocab?: Record<string, number> } | undefined;
    if (!model || model.type !== "BPE" || typeof model.vocab !== "object") {
      throw new DataFormatError(source, "model", "a BPE model with a vocab object");
    }
    const vocab = new Map(Object.entries(model.vocab));
    for (const t of (obj.added_tokens ?? []) as { id: number; content: string }[]) vocab.set(t.content, t.id);
    const tok = new Tokenizer(obj, { clean_up_tokenization_spaces: false });
    return new TextTokenizer(tok, vocab);
  }

  static async fromFile(path: string): Promise<TextTokenizer> {
    return TextTokenizer.fromJson(await Deno.readTextFile(path), path);
  }

  /** Token ids of `text`; special tokens written literally in the text become their ids. No BOS/EOS is added. */
  encode(text: string): number[] {
    return this.#tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token strings (byte-level symbols) of `text`. */
  tokenize(text: string): string[] {
    return this.#tok.tokenize(text, { add_special_tokens: false });
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.#tok.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** Id of a token string (e.g. "<|im_end|>"); throws DataFormatError naming the token if absent. */
  tokenId(token: string): number {
    const id = this.#vocab.get(token);
    if (id === undefined) throw new DataFormatError("tokenizer.json", "vocab", `a token ${JSON.stringify(token)}`);
    return id;
  }
}
