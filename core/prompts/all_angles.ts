/**
 * All-Angles Bench's prompt wording and answer format (the authors' VLMEvalKit fork, `ImageMCQDataset.build_prompt`;
 * benchmark-formats.md §1 [V]): every image in order, then
 *   "Question: {question}\nOptions:\nA. {A}\nB. {B}\nC. {C}\nPlease select the correct answer from the options above. \n"
 * (the space before the last newline is in the source). The real data.json embeds the options in the question too
 * ("… A. 2, B. 3, C. 4"). Answers are scored by VLMEvalKit `can_infer`, so the bare letter is the answer format.
 */

/** The text block after the images; `choices` maps letters to option texts in order. */
export function allAnglesPrompt(r: { question: string; choices: Record<string, string> }): string {
  let p = `Question: ${r.question}\nOptions:\n`;
  for (const [k, v] of Object.entries(r.choices)) p += `${k}. ${v}\n`;
  return p + "Please select the correct answer from the options above. \n";
}

/** A question with its options embedded the way data.json writes them: "Which …? A. red, B. blue, C. green". */
export function allAnglesQuestion(question: string, choices: Record<string, string>): string {
  return `${question} ${Object.entries(choices).map(([k, v]) => `${k}. ${v}`).join(", ")}`;
}
