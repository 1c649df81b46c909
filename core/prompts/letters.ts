/** Option letters as every harness numbers them: A, B, C, … */
export const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** ["left", "right"] → {A: "left", B: "right"}. */
export function lettersFor(options: readonly string[]): Record<string, string> {
  return Object.fromEntries(options.map((o, i) => [LETTERS[i], o]));
}
