/**
 * Generated sections of a Markdown file: the text between `<!-- report:NAME -->` and `<!-- /report:NAME -->` is
 * replaced, everything else (the markers included) stays byte for byte. A marker that is missing, repeated or out of
 * order is an error naming the file and the marker, so a hand edit that breaks one is never silently "fixed".
 */
import { DataFormatError } from "../../core/errors.ts";

/** The opening and closing marker of section `name`. */
export function markers(name: string): [open: string, close: string] {
  return [`<!-- report:${name} -->`, `<!-- /report:${name} -->`];
}

function indexOnce(text: string, marker: string, file: string): number {
  const at = text.indexOf(marker);
  if (at < 0) throw new DataFormatError(file, marker, "the marker comment on a line of its own (add the pair)");
  if (text.indexOf(marker, at + marker.length) >= 0) {
    throw new DataFormatError(file, marker, "one occurrence", "it appears more than once");
  }
  return at;
}

/**
 * `text` with each section's body (between its markers) replaced by `sections[name]`, framed by blank lines so that
 * the markers stay on lines of their own. Sections not named in `sections` are left alone.
 */
export function replaceSections(text: string, sections: Record<string, string>, file: string): string {
  let out = text;
  for (const [name, body] of Object.entries(sections)) {
    const [open, close] = markers(name);
    const a = indexOnce(out, open, file), b = indexOnce(out, close, file);
    if (b < a) throw new DataFormatError(file, close, `after ${open}`, "the closing marker comes first");
    // Blank lines around the body: `deno fmt` puts them there, so a formatted file stays formatted.
    const inner = `\n\n${body.replace(/^\n+|\n+$/g, "")}\n\n`;
    out = out.slice(0, a + open.length) + inner + out.slice(b);
  }
  return out;
}
