/**
 * ROC AUC exactly as scikit-learn's `roc_auc_score` defines it: the trapezoidal area under the ROC curve whose
 * points are the distinct score thresholds, so tied scores form one diagonal step. That area equals the rank
 * statistic P(score of a random positive > score of a random negative) + ½ P(equal), which is what we compute:
 * the positive and negative scores are sorted separately (native numeric typed-array sort, no comparator) and
 * merged once. Cost: sorting n floats plus one linear pass, i.e. close to the limit of sorting the scores.
 */
import { MetricInputError } from "./errors.ts";
import { checkLabels, column, columnsOf, nonEmpty, sameLength, toFlat, type ScoreMatrix } from "./inputs.ts";

/**
 * AUC from the scores of the positives and of the negatives, both sorted ascending (by the caller). For each
 * group of equal positive scores: every negative strictly below wins it, every equal negative counts ½.
 * Invariant: `below` = number of negatives < v, `equal` = number of negatives == v for the current value v.
 */
export function aucOfSorted(pos: Float64Array, neg: Float64Array): number {
  let wins = 0;
  let j = 0;
  let i = 0;
  while (i < pos.length) {
    const v = pos[i] as number;
    let count = 0;
    while (i < pos.length && pos[i] === v) {
      i++;
      count++;
    }
    while (j < neg.length && (neg[j] as number) < v) j++;
    let e = j;
    while (e < neg.length && neg[e] === v) e++;
    wins += count * (j + (e - j) / 2);
  }
  return wins / (pos.length * neg.length);
}

/** Splits scores by a 0/1 mask into sorted positive and negative arrays. */
function splitSorted(score: Float64Array, isPositive: ArrayLike<number>): [Float64Array, Float64Array] {
  let p = 0;
  for (let i = 0; i < score.length; i++) p += isPositive[i] ? 1 : 0;
  const pos = new Float64Array(p);
  const neg = new Float64Array(score.length - p);
  let a = 0;
  let b = 0;
  for (let i = 0; i < score.length; i++) {
    if (isPositive[i]) pos[a++] = score[i] as number;
    else neg[b++] = score[i] as number;
  }
  return [pos.sort(), neg.sort()];
}

/** AUC of a 0/1 mask against checked scores; null when one of the two classes is absent. */
export function aucOrNull(score: Float64Array, isPositive: ArrayLike<number>): number | null {
  const [pos, neg] = splitSorted(score, isPositive);
  return pos.length === 0 || neg.length === 0 ? null : aucOfSorted(pos, neg);
}

function singleClass(what: string): MetricInputError {
  return new MetricInputError(
    "single_class",
    `${what} contains only one class; ROC AUC is undefined without both positives and negatives`,
  );
}

/**
 * Binary ROC AUC. `yTrue`: 1 = positive, 0 = negative. `score`: higher = more likely positive (for a softmax
 * model, the positive class's probability). Throws MetricInputError (reason `single_class`) when `yTrue` holds
 * only one class, as scikit-learn does.
 */
export function rocAuc(yTrue: ArrayLike<number>, score: ArrayLike<number>): number {
  sameLength(yTrue, score, ["yTrue", "score"]);
  nonEmpty(yTrue.length, "yTrue");
  // Two passes instead of check-then-copy-then-split: this is the inner call of every AUC bootstrap.
  let p = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const v = yTrue[i] as number;
    if (v === 1 || (v as unknown) === true) p++;
    else if (v !== 0 && (v as unknown) !== false) {
      throw new MetricInputError("bad_label", `yTrue[${i}] must be 0 or 1 (negative/positive), got ${String(v)}`);
    }
  }
  if (p === 0 || p === yTrue.length) throw singleClass("yTrue");
  const pos = new Float64Array(p);
  const neg = new Float64Array(yTrue.length - p);
  let a = 0;
  let b = 0;
  for (let i = 0; i < score.length; i++) {
    const v = score[i] as number;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new MetricInputError("bad_score", `score[${i}] must be a finite number, got ${String(v)}`);
    }
    const y = yTrue[i] as number;
    if (y === 1 || (y as unknown) === true) pos[a++] = v;
    else neg[b++] = v;
  }
  return aucOfSorted(pos.sort(), neg.sort());
}

export interface OneVsRestAuc {
  /** AUC of class c (scored by column c) against all other classes. */
  perClass: number[];
  /** Unweighted mean of `perClass`: `roc_auc_score(multi_class='ovr', average='macro')`. */
  macro: number;
}

/**
 * One-vs-rest AUC per class and its unweighted mean. Every class 0..k−1 must occur in `yTrue` (scikit-learn
 * raises otherwise: a mean over fewer classes would not be comparable between sets). Scores are used as given;
 * scikit-learn additionally insists that rows sum to 1, which softmax outputs do.
 */
export function oneVsRestAuc(yTrue: ArrayLike<number>, probs: ScoreMatrix): OneVsRestAuc {
  nonEmpty(yTrue.length, "yTrue");
  const k = columnsOf(probs, yTrue.length);
  if (k < 2) throw new MetricInputError("bad_shape", `probs must have at least 2 columns (classes), got ${k}`);
  const flat = toFlat(probs, yTrue.length, k);
  const y = checkLabels(yTrue, k);
  return oneVsRestOfFlat(y, flat, k);
}

export function oneVsRestOfFlat(y: Int32Array, flat: Float64Array, k: number): OneVsRestAuc {
  const perClass: number[] = [];
  const mask = new Uint8Array(y.length);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < y.length; i++) mask[i] = y[i] === c ? 1 : 0;
    const auc = aucOrNull(column(flat, k, c), mask);
    if (auc === null) throw singleClass(`yTrue for class ${c} against the rest (class ${c} is absent or alone)`);
    perClass.push(auc);
  }
  return { perClass, macro: perClass.reduce((a, b) => a + b, 0) / k };
}
