/**
 * Confidence-accuracy calibration (Sec 5.3 "Confidence-Accuracy Correlation", Eq 13; App. C calibration gap).
 * Confidence c_i is the maximum softmax probability of the similarity row (see ConfidenceRule in features.ts),
 * correctness y_i ∈ {0, 1} is PCK@δ of the prediction.
 *
 * Undefined values are NaN here (reports write NaN as null in JSON and "—" in Markdown):
 * - ρ is NaN when either variable is constant (all correct, none correct, or all confidences equal) or N < 2.
 * - the gap is NaN when there is no correct or no incorrect prediction.
 */
import { ConfigError } from "../errors.ts";

/** Pearson correlation coefficient (Eq 13), two-pass in f64. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new ConfigError("pearson", `x has ${x.length} values, y ${y.length}`);
  const n = x.length;
  if (n < 2 || isConstant(x) || isConstant(y)) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return sxy / (Math.sqrt(sxx) * Math.sqrt(syy));
}

function isConstant(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

/** App. C calibration gap and the class means it comes from. */
export interface CalibrationGap {
  /** Mean confidence on correct predictions − mean on incorrect ones; NaN if either class is empty. */
  gap: number;
  /** Mean confidence of the correct predictions. */
  meanConfCorrect: number;
  /** Mean confidence of the incorrect predictions. */
  meanConfIncorrect: number;
  /** Correct predictions counted. */
  numCorrect: number;
  /** Incorrect predictions counted. */
  numIncorrect: number;
}

/** App. C calibration gap. `correct[i]` is truthy (1/true) for a correct prediction. */
export function calibrationGap(conf: ArrayLike<number>, correct: ArrayLike<number | boolean>): CalibrationGap {
  if (conf.length !== correct.length) {
    throw new ConfigError("calibrationGap", `conf has ${conf.length} values, correct ${correct.length}`);
  }
  let sc = 0;
  let nc = 0;
  let si = 0;
  let ni = 0;
  for (let i = 0; i < conf.length; i++) {
    if (correct[i]) {
      sc += conf[i];
      nc++;
    } else {
      si += conf[i];
      ni++;
    }
  }
  return gapFromSums(sc, nc, si, ni);
}

/** The gap from the confidence sums and counts of the correct and the incorrect predictions (NaN means when empty). */
function gapFromSums(sumCorrect: number, nc: number, sumIncorrect: number, ni: number): CalibrationGap {
  const meanConfCorrect = nc === 0 ? NaN : sumCorrect / nc;
  const meanConfIncorrect = ni === 0 ? NaN : sumIncorrect / ni;
  return {
    gap: meanConfCorrect - meanConfIncorrect,
    meanConfCorrect,
    meanConfIncorrect,
    numCorrect: nc,
    numIncorrect: ni,
  };
}

/**
 * Streaming Pearson ρ and calibration gap over (confidence, correct) pairs, for layers with too many predictions
 * to keep. Sums are shifted by the first confidence seen, which keeps them well conditioned in f64.
 */
export class CalibrationAccumulator {
  n = 0;
  #shift = NaN;
  #sc = 0; // Σ (c − shift)
  #scc = 0; // Σ (c − shift)²
  #sy = 0; // Σ y
  #scy = 0; // Σ (c − shift)·y
  #confCorrect = 0; // Σ c over correct

  add(conf: number, correct: boolean): void {
    if (this.n === 0) this.#shift = conf;
    const c = conf - this.#shift;
    const y = correct ? 1 : 0;
    this.n++;
    this.#sc += c;
    this.#scc += c * c;
    this.#sy += y;
    this.#scy += c * y;
    if (correct) this.#confCorrect += conf;
  }

  get numCorrect(): number {
    return this.#sy;
  }

  /** Eq 13; NaN when N < 2 or either variable is constant. */
  rho(): number {
    const n = this.n;
    if (n < 2) return NaN;
    const sxx = this.#scc - this.#sc * this.#sc / n;
    const syy = this.#sy - this.#sy * this.#sy / n;
    const sxy = this.#scy - this.#sc * this.#sy / n;
    // Constant confidences leave rounding dust in sxx: treat ≤ 1e-14 · Σc² as zero.
    if (syy <= 0 || sxx <= 1e-14 * Math.max(this.#scc, 1e-300)) return NaN;
    return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
  }

  gap(): CalibrationGap {
    const nc = this.#sy;
    const ni = this.n - nc;
    const sumConf = this.#sc + this.n * (this.n === 0 ? 0 : this.#shift);
    return gapFromSums(this.#confCorrect, nc, sumConf - this.#confCorrect, ni);
  }
}
