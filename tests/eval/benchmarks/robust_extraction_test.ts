import assert from "node:assert/strict";
import { robustChoice, robustNumber } from "../../../eval/benchmarks/robust_extraction.ts";

const lr = { A: "left", B: "right" };
const quad = { A: "front-left", B: "front-right", C: "back-left", D: "back-right" };

Deno.test("robust choice reads messy multiple-choice outputs", () => {
  assert.deepEqual(robustChoice("The answer is (B).", lr), "B");
  assert.deepEqual(robustChoice("B) left", lr), "B");
  assert.deepEqual(robustChoice("Answer: a", lr), "A");
  assert.deepEqual(robustChoice("**(A)**", lr), "A");
  assert.deepEqual(robustChoice("I think the camera moved right.", lr), "B");
  assert.deepEqual(robustChoice("It is to my back-left.", quad), "C");
  assert.deepEqual(robustChoice("A cat is sitting there", { A: "x", B: "y", C: "z" }), "");
  assert.deepEqual(robustChoice("no idea", lr), "");
});

Deno.test("robust number reads units, separators and number words", () => {
  assert.deepEqual(robustNumber("3.5 meters"), 3.5);
  assert.deepEqual(robustNumber("About 1,200 cm."), 1200);
  assert.deepEqual(robustNumber("2,5 m"), 2.5);
  assert.deepEqual(robustNumber("There are three chairs."), 3);
  assert.deepEqual(robustNumber("-4"), -4);
  assert.deepEqual(robustNumber("none"), null);
});
