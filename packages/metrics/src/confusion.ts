/**
 * Confusion matrix and the threshold metrics read from it. Convention (the paper's, and scikit-learn's):
 * true labels in rows, predicted labels in columns; cm[t][p] counts samples of class t predicted as p.
 * Precision, recall and F1 of a class follow scikit-learn with `zero_division=0`: a ratio with a zero
 * denominator is 0 (a model that never predicts COVID-19 has precision 0, not NaN).
 */
import { MetricsError, METRICS_ERROR_CODES as C } from "./errors.ts";
import { checkLabels, checkNumClasses, sameLength } from "./inputs.ts";
import type { Labels } from "./inputs.ts";

export type ConfusionMatrix = number[][];

/** Flat row-major counts; `weights` (multiplicities) lets a bootstrap resample reuse the same arrays. */
export function confusionCounts(
  yTrue: Int32Array,
  yPred: Int32Array,
  numClasses: number,
  weights?: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(numClasses * numClasses);
  for (let i = 0; i < yTrue.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    out[(yTrue[i] as number) * numClasses + (yPred[i] as number)] += w;
  }
  return out;
}

export function toRows(flat: Float64Array, numClasses: number): ConfusionMatrix {
  const rows: number[][] = [];
  for (let t = 0; t < numClasses; t++) rows.push(Array.from(flat.subarray(t * numClasses, (t + 1) * numClasses)));
  return rows;
}

/** The confusion matrix of predicted class indices against true ones (rows: true, columns: predicted). */
export function confusionMatrix(yTrue: Labels, yPred: Labels, numClasses: number): ConfusionMatrix {
  checkNumClasses(numClasses);
  sameLength(yTrue, yPred, ["yTrue", "yPred"]);
  const t = checkLabels(yTrue, numClasses, "yTrue");
  const p = checkLabels(yPred, numClasses, "yPred");
  return toRows(confusionCounts(t, p, numClasses), numClasses);
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Number of true samples of the class. */
  support: number;
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/** Precision, recall and F1 of class `c` from flat counts. */
export function classScoresFromCounts(flat: Float64Array, numClasses: number, c: number): ClassScores {
  const tp = flat[c * numClasses + c] as number;
  let predicted = 0;
  let actual = 0;
  for (let k = 0; k < numClasses; k++) {
    predicted += flat[k * numClasses + c] as number;
    actual += flat[c * numClasses + k] as number;
  }
  const precision = ratio(tp, predicted);
  const recall = ratio(tp, actual);
  // F1 as 2TP / (2TP + FP + FN): equal to the harmonic mean, and 0 (not NaN) when TP = 0.
  const f1 = ratio(2 * tp, predicted + actual);
  return { precision, recall, f1, support: actual };
}

/** Fraction of samples on the diagonal; null for an empty matrix. */
export function accuracyFromCounts(flat: Float64Array, numClasses: number): number | null {
  let total = 0;
  let correct = 0;
  for (let i = 0; i < flat.length; i++) total += flat[i] as number;
  for (let c = 0; c < numClasses; c++) correct += flat[c * numClasses + c] as number;
  return total === 0 ? null : correct / total;
}

function checkSquare(cm: ConfusionMatrix): Float64Array {
  const n = cm.length;
  const flat = new Float64Array(n * n);
  cm.forEach((row, t) => {
    if (row.length !== n) throw new MetricsError(C.BAD_SHAPE, `cm[${t}] has ${row.length} columns; expected ${n}`);
    row.forEach((v, p) => {
      if (!Number.isFinite(v) || v < 0) throw new MetricsError(C.BAD_SCORE, `cm[${t}][${p}] must be a count >= 0, got ${v}`);
      flat[t * n + p] = v;
    });
  });
  return flat;
}

/** Precision, recall, F1 and support of class `c` of a confusion matrix. */
export function classScores(cm: ConfusionMatrix, c: number): ClassScores {
  const flat = checkSquare(cm);
  if (!Number.isInteger(c) || c < 0 || c >= cm.length) {
    throw new MetricsError(C.BAD_OPTION, `class index must be in [0, ${cm.length - 1}], got ${c}`);
  }
  return classScoresFromCounts(flat, cm.length, c);
}

/** Accuracy over all classes of a confusion matrix; null when it counts no sample. */
export function accuracy(cm: ConfusionMatrix): number | null {
  return accuracyFromCounts(checkSquare(cm), cm.length);
}
