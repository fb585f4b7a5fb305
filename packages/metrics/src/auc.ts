/**
 * Area under the ROC curve, computed exactly as scikit-learn's `roc_auc_score` does (the trapezoidal area under
 * the ROC curve with tied scores forming one step), via the equivalent rank statistic: the probability that a
 * random positive scores above a random negative, ties counting one half. O(n log n) for the sort, then O(n).
 *
 * An AUC is undefined when the labels hold only one class; scikit-learn raises there, we return `null` so that
 * a validation set without positives records "no AUC" for that epoch instead of crashing the trial.
 */
import { checkBinaryLabels, checkFiniteScores, checkLabels, checkNumClasses, column, sameLength, toFlatScores } from "./inputs.ts";
import type { Labels, ScoreMatrix } from "./inputs.ts";

/** Indices sorted by ascending score (stable, so equal scores keep input order; order within ties is irrelevant). */
export function ascendingOrder(scores: Float64Array): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
}

/**
 * The AUC given an ascending order of the scores, a positive flag per sample and an optional weight per sample
 * (a bootstrap resample is a weight vector of multiplicities, which avoids re-sorting for every resample).
 * Walks the groups of tied scores from the lowest: each positive in a group beats every negative seen before
 * the group and ties (½) with the negatives inside it. Returns null when either class has zero total weight.
 */
export function aucFromOrder(
  order: Uint32Array,
  scores: Float64Array,
  positive: ArrayLike<number>,
  weights?: ArrayLike<number>,
): number | null {
  let negBefore = 0;
  let wins = 0;
  let totalPos = 0;
  let i = 0;
  while (i < order.length) {
    const s = scores[order[i] as number] as number;
    let pos = 0;
    let neg = 0;
    for (; i < order.length && scores[order[i] as number] === s; i++) {
      const k = order[i] as number;
      const w = weights ? (weights[k] as number) : 1;
      if (positive[k]) pos += w;
      else neg += w;
    }
    wins += pos * (negBefore + neg / 2);
    negBefore += neg;
    totalPos += pos;
  }
  if (totalPos === 0 || negBefore === 0) return null;
  return wins / (totalPos * negBefore);
}

/**
 * Binary ROC AUC. `labels`: 1/true = positive. `scores`: higher means more likely positive (e.g. the positive
 * class's probability). Returns null when only one class is present.
 */
export function rocAuc(labels: ArrayLike<number | boolean>, scores: ArrayLike<number>): number | null {
  sameLength(labels, scores, ["labels", "scores"]);
  const y = checkBinaryLabels(labels);
  const s = checkFiniteScores(scores);
  return aucFromOrder(ascendingOrder(s), s, y);
}

export interface OneVsRestAuc {
  /** AUC of class c against all the others, scored by column c; null when class c is absent (or the only one). */
  perClass: (number | null)[];
  /**
   * Unweighted mean of `perClass` (scikit-learn's `multi_class='ovr', average='macro'`). Null when any class's
   * AUC is undefined: scikit-learn refuses that case too, and a mean over fewer classes would not be comparable.
   */
  macro: number | null;
}

/** One-vs-rest AUC per class and its macro average, from class indices and an N × C score matrix. */
export function oneVsRestAuc(labels: Labels, scores: ScoreMatrix, numClasses: number): OneVsRestAuc {
  checkNumClasses(numClasses);
  const y = checkLabels(labels, numClasses);
  const flat = toFlatScores(scores, y.length, numClasses);
  const perClass: (number | null)[] = [];
  const isClass = new Uint8Array(y.length);
  for (let c = 0; c < numClasses; c++) {
    for (let i = 0; i < y.length; i++) isClass[i] = y[i] === c ? 1 : 0;
    const col = column(flat, numClasses, c);
    perClass.push(aucFromOrder(ascendingOrder(col), col, isClass));
  }
  return { perClass, macro: macroMean(perClass) };
}

export function macroMean(values: readonly (number | null)[]): number | null {
  let sum = 0;
  for (const v of values) {
    if (v === null) return null;
    sum += v;
  }
  return values.length === 0 ? null : sum / values.length;
}
