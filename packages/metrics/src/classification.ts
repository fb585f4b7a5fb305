/**
 * The paper's evaluation of one classifier on one split (section 3.3); the positive class is COVID-19.
 * - binaryMetrics: precision, recall, F1 of the positive class, accuracy, ROC AUC of the positive score.
 * - multiclassMetrics: precision, recall, F1 of the positive class (prediction = argmax), accuracy over all
 *   classes, binary AUC (positive-class probability, all other classes merged: Table 14's "binary AUC"),
 *   multiclass AUC (one-vs-rest, unweighted mean), confusion matrix.
 */
import { aucOrNull, oneVsRestOfFlat } from "./auc.ts";
import { accuracyOf, classScores, countMatrix } from "./confusion.ts";
import { MetricInputError } from "./errors.ts";
import { argmaxRows, checkBinaryLabels, checkLabels, checkScores, column, columnsOf, nonEmpty, sameLength, toFlat, type ScoreMatrix } from "./inputs.ts";

export interface BinaryMetrics {
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  auc: number;
  /** 2 × 2, rows true [negative, positive], columns predicted [negative, positive]. */
  confusion: number[][];
}

export interface BinaryMetricsOptions {
  /** A sample is predicted positive when its score is >= threshold. @defaultValue 0.5 */
  threshold?: number;
}

function noAuc(what: string): MetricInputError {
  return new MetricInputError("single_class", `${what} contains only one class; ROC AUC is undefined without both classes`);
}

/**
 * Binary metrics from 0/1 labels (1 = positive) and the positive class's score. Throws MetricInputError when
 * the inputs are misaligned, a score is not finite, or only one class is present (no AUC).
 */
export function binaryMetrics(
  yTrue: ArrayLike<number>,
  scorePositive: ArrayLike<number>,
  options: BinaryMetricsOptions = {},
): BinaryMetrics {
  const threshold = options.threshold ?? 0.5;
  if (!Number.isFinite(threshold)) throw new MetricInputError("bad_option", `threshold must be a finite number, got ${String(threshold)}`);
  sameLength(yTrue, scorePositive, ["yTrue", "scorePositive"]);
  nonEmpty(yTrue.length, "yTrue");
  const y = checkBinaryLabels(yTrue);
  const s = checkScores(scorePositive, "scorePositive");
  const auc = aucOrNull(s, y);
  if (auc === null) throw noAuc("yTrue");
  const pred = Int32Array.from(s, (v) => (v >= threshold ? 1 : 0));
  const confusion = countMatrix(Int32Array.from(y), pred, 2);
  return { ...classScores(confusion, 1), accuracy: accuracyOf(confusion), auc, confusion };
}

export interface MulticlassMetrics {
  /** Of the positive class. */
  precision: number;
  recall: number;
  f1: number;
  /** Over all classes. */
  accuracy: number;
  /** Positive-class probability against all other classes merged. */
  auc: number;
  /** One-vs-rest AUC, unweighted mean over classes. */
  macroAuc: number;
  /** One-vs-rest AUC of each class (what macroAuc averages). */
  perClassAuc: number[];
  /** k × k, rows true, columns predicted. */
  confusion: number[][];
}

/**
 * Multiclass metrics from class indices and n × k class probabilities (rows, or flat row-major such as a
 * Float32Array from `dataSync()`); `positiveClass` is the index of COVID-19. Every class must occur in `yTrue`
 * (the one-vs-rest AUC is undefined otherwise, and scikit-learn raises as well).
 */
export function multiclassMetrics(yTrue: ArrayLike<number>, probs: ScoreMatrix, positiveClass: number): MulticlassMetrics {
  nonEmpty(yTrue.length, "yTrue");
  const k = columnsOf(probs, yTrue.length);
  if (k < 2) throw new MetricInputError("bad_shape", `probs must have at least 2 columns (classes), got ${k}`);
  if (!Number.isInteger(positiveClass) || positiveClass < 0 || positiveClass >= k) {
    throw new MetricInputError("bad_option", `positiveClass must be a class index in [0, ${k - 1}], got ${String(positiveClass)}`);
  }
  const flat = toFlat(probs, yTrue.length, k);
  const y = checkLabels(yTrue, k);
  const confusion = countMatrix(y, argmaxRows(flat, k), k);
  const ovr = oneVsRestOfFlat(y, flat, k);
  return {
    ...classScores(confusion, positiveClass),
    accuracy: accuracyOf(confusion),
    // Merging the negatives leaves the positive column's scores and mask unchanged: it is the positive's OvR AUC.
    auc: ovr.perClass[positiveClass]!,
    macroAuc: ovr.macro,
    perClassAuc: ovr.perClass,
    confusion,
  };
}

/**
 * Labels of a multiclass set mapped to 0/1 for a binary model (Table 17: binary models on the multiclass test
 * set): 1 where the label is `positiveClass`, 0 elsewhere.
 */
export function binariseLabels(yTrue: ArrayLike<number>, positiveClass: number): Int32Array {
  const out = new Int32Array(yTrue.length);
  for (let i = 0; i < yTrue.length; i++) {
    const v = yTrue[i] as number;
    if (!Number.isInteger(v) || v < 0) throw new MetricInputError("bad_label", `yTrue[${i}] must be a class index >= 0, got ${String(v)}`);
    out[i] = v === positiveClass ? 1 : 0;
  }
  return out;
}

/** The positive class's column of an n × k probability matrix (the score a binary AUC needs). */
export function positiveScores(probs: ScoreMatrix, n: number, positiveClass: number): Float64Array {
  const k = columnsOf(probs, n);
  if (!Number.isInteger(positiveClass) || positiveClass < 0 || positiveClass >= k) {
    throw new MetricInputError("bad_option", `positiveClass must be a class index in [0, ${k - 1}], got ${String(positiveClass)}`);
  }
  return column(toFlat(probs, n, k), k, positiveClass);
}
