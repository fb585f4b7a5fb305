/**
 * Confusion matrix and the threshold metrics read from it. Convention (the paper's and scikit-learn's): true
 * labels in rows, predicted labels in columns; cm[t][p] counts samples of class t predicted as p. Precision,
 * recall and F1 follow scikit-learn with `zero_division=0`: a ratio whose denominator is 0 is 0 (a model that
 * never predicts COVID-19 has precision 0, not NaN).
 */
import { MetricInputError } from "./errors.ts";
import { checkLabels, sameLength } from "./inputs.ts";

/** Counts as rows (true) × columns (predicted), from checked class indices. */
export function countMatrix(yTrue: Int32Array, yPred: Int32Array, nClasses: number): number[][] {
  const cm = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) cm[yTrue[i] as number]![yPred[i] as number]! += 1;
  return cm;
}

/** The confusion matrix of predicted against true class indices (rows: true, columns: predicted). */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, nClasses: number): number[][] {
  if (!Number.isInteger(nClasses) || nClasses < 1) {
    throw new MetricInputError("bad_option", `nClasses must be a positive integer, got ${String(nClasses)}`);
  }
  sameLength(yTrue, yPred, ["yTrue", "yPred"]);
  return countMatrix(checkLabels(yTrue, nClasses, "yTrue"), checkLabels(yPred, nClasses, "yPred"), nClasses);
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/** Precision, recall and F1 of class c of a confusion matrix (zero_division = 0). */
export function classScores(cm: readonly (readonly number[])[], c: number): ClassScores {
  const tp = cm[c]![c]!;
  let predicted = 0;
  let actual = 0;
  for (let k = 0; k < cm.length; k++) {
    predicted += cm[k]![c]!;
    actual += cm[c]![k]!;
  }
  // F1 = 2TP / (2TP + FP + FN): the harmonic mean of precision and recall, and 0 (not NaN) when TP = 0.
  return { precision: ratio(tp, predicted), recall: ratio(tp, actual), f1: ratio(2 * tp, predicted + actual) };
}

/** Unweighted mean of every class's F1 (scikit-learn's `f1_score(average='macro')`, zero_division = 0). */
export function macroF1Of(cm: readonly (readonly number[])[]): number {
  let sum = 0;
  for (let c = 0; c < cm.length; c++) sum += classScores(cm, c).f1;
  return cm.length ? sum / cm.length : 0;
}

/** Fraction of all samples on the diagonal. */
export function accuracyOf(cm: readonly (readonly number[])[]): number {
  let total = 0;
  let correct = 0;
  cm.forEach((row, t) => row.forEach((v, p) => ((total += v), t === p && (correct += v))));
  return ratio(correct, total);
}
