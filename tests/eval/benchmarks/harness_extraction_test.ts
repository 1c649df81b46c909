import assert from "node:assert/strict";
import {
  canInfer,
  canInferOption,
  canInferText,
  lmmsLeadingLetter,
  pythonFloat,
  vsiFuzzyMatching,
} from "../../../eval/benchmarks/harness_extraction.ts";

const abc = { A: "2", B: "3", C: "4" };

Deno.test("can_infer_option finds the one standalone letter after stripping .()[],:;!*#{}", () => {
  assert.deepEqual(canInferOption("B", abc), "B");
  assert.deepEqual(canInferOption("The answer is (B).", abc), "B");
  assert.deepEqual(canInferOption("(C) 4", abc), "C");
  assert.deepEqual(canInferOption("B) left", abc), "B");
});

Deno.test("can_infer_option gives false when two letters stand alone and Z on a refusal", () => {
  assert.deepEqual(canInferOption("A or B", abc), false);
  assert.deepEqual(canInferOption("Cannot determine the answer from these views", abc), "Z");
  assert.deepEqual(canInferOption("none", abc), false);
});

Deno.test("can_infer_option's newest-upstream index rule rejects a letter near the end", () => {
  assert.deepEqual(canInferOption("B", abc, { indexRule: true }), false);
  assert.deepEqual(canInferOption("B is right and the others are not", abc, { indexRule: true }), "B");
});

Deno.test("can_infer_text matches exactly one option text, case-insensitively", () => {
  const lr = { A: "left", B: "right", C: "front" };
  assert.deepEqual(canInferText("It is on the LEFT side", lr), "A");
  assert.deepEqual(canInferText("left or right", lr), false);
  assert.deepEqual(canInfer("I think left", lr), "A");
});

Deno.test("VSI fuzzy_matching takes the first space-separated token and strips trailing dots", () => {
  assert.deepEqual(vsiFuzzyMatching("3.5 meters"), "3.5");
  assert.deepEqual(vsiFuzzyMatching("B."), "B");
  assert.deepEqual(vsiFuzzyMatching("(B)"), "(B)");
  assert.deepEqual(vsiFuzzyMatching("The answer is B"), "The");
  assert.deepEqual(vsiFuzzyMatching("4..."), "4");
});

Deno.test("pythonFloat follows Python float(): whitespace, underscores, inf/nan, failures as null", () => {
  assert.deepEqual(pythonFloat(" 3.5\n"), 3.5);
  assert.deepEqual(pythonFloat("1_000"), 1000);
  assert.deepEqual(pythonFloat("5."), 5);
  assert.deepEqual(pythonFloat(".5"), 0.5);
  assert.deepEqual(pythonFloat("1e3"), 1000);
  assert.deepEqual(pythonFloat("-inf"), -Infinity);
  assert.deepEqual(Number.isNaN(pythonFloat("nan")), true);
  assert.deepEqual(pythonFloat("3.5m"), null);
  assert.deepEqual(pythonFloat("1,000"), null);
  assert.deepEqual(pythonFloat(""), null);
});

Deno.test("lmms-eval anchored letter regex only reads a letter at the start", () => {
  assert.deepEqual(lmmsLeadingLetter("(B) right"), "B");
  assert.deepEqual(lmmsLeadingLetter("  c."), "C");
  assert.deepEqual(lmmsLeadingLetter("B) left"), "B");
  assert.deepEqual(lmmsLeadingLetter("The answer is (B)."), "T");
  assert.deepEqual(lmmsLeadingLetter("3 apples"), "");
  assert.deepEqual(lmmsLeadingLetter(""), "");
});
