/**
 * Instruction records in the LLaVA-Video-178K conversation format (the paper's general data, Sec 5.2, App. B):
 *   {"id": …, "conversations": [{"from": "human", "value": "<image>\n…"}, {"from": "gpt", "value": "…"}]}
 * with one "<image>" per image shown, plus our own fields saying what was asked.
 */

export interface ConversationTurn {
  from: "human" | "gpt";
  value: string;
}

export interface QaRecord {
  id: string;
  sceneId: string;
  kind: string;
  /** Frame (within its sequence) the <image> refers to, when the question depends on a view. */
  frameIndex?: number;
  conversations: [ConversationTurn, ConversationTurn];
}
