/**
 * The paper's evaluation (section 3.3) of one classifier on one split, in one call. The positive class is
 * COVID-19 (any named class in general).
 * - Binary task: precision, recall, F1 of the positive class; accuracy; ROC AUC of the positive class's score.
 * - Multiclass task: the same five, where `auc` is the binary AUC with every negative class merged (the positive
 *   class's probability against "anything else"), plus `macroAuc`: one-vs-rest AUC per class, unweighted mean.
 * Predictions are the row-wise argmax of the scores (for two softmax classes: positive probability > 0.5).
 */
import { ascendingOrder, aucFromOrder, macroMean } from "./auc.ts";
import {
  accuracyFromCounts,
  classScoresFromCounts,
  confusionCounts,
  toRows,
  type ClassScores,
  type ConfusionMatrix,
} from "./confusion.ts";
import { MetricsError, METRICS_ERROR_CODES as C } from "./errors.ts";
import { argmaxRows, checkLabels, column, toFlatScores, type Labels, type ScoreMatrix } from "./inputs.ts";

export type EvaluationTask = "binary" | "multiclass";

export interface EvaluationInput {
  /** True class indices into `classes`, one per sample. */
  labels: Labels;
  /** N × C class scores (softmax probabilities), flat row-major or as rows, columns in `classes` order. */
  scores: ScoreMatrix;
  /** Class names in label order (at least 2). */
  classes: readonly string[];
  /** The class whose precision/recall/F1/AUC are reported, e.g. "COVID-19". Must be one of `classes`. */
  positiveClass: string;
  /** @defaultValue "binary" for two classes, "multiclass" for more. */
  task?: EvaluationTask;
}

/** The headline numbers. Keys match the trainer contract's epoch/result `metrics`. */
export interface EvaluationMetrics {
  auc: number | null;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number | null;
  /** Multiclass only: one-vs-rest macro AUC (scikit-learn `multi_class='ovr', average='macro'`). */
  macroAuc?: number | null;
  /** Unweighted mean F1 over classes (not a paper metric; shown next to the positive-class F1). */
  macroF1: number;
}

export interface PerClassEvaluation extends ClassScores {
  class: string;
  /** This class against all others, scored by its column. Null when the class is absent or alone. */
  auc: number | null;
}

export interface Evaluation {
  task: EvaluationTask;
  n: number;
  classes: string[];
  positiveIndex: number;
  metrics: EvaluationMetrics;
  perClass: PerClassEvaluation[];
  /** Rows: true class, columns: predicted class, both in `classes` order. */
  confusionMatrix: ConfusionMatrix;
}

/** Inputs checked and laid out once, so that bootstrap resamples only reweight (never re-sort). */
export interface PreparedEvaluation {
  task: EvaluationTask;
  classes: string[];
  numClasses: number;
  positiveIndex: number;
  labels: Int32Array;
  predictions: Int32Array;
  /** Per class: 1 where the true label is that class. */
  isClass: Uint8Array[];
  /** Per class: that class's score column and its ascending order. */
  columns: Float64Array[];
  orders: Uint32Array[];
}

function resolveTask(input: EvaluationInput): EvaluationTask {
  const task = input.task ?? (input.classes.length === 2 ? "binary" : "multiclass");
  if (task === "binary" && input.classes.length !== 2) {
    throw new MetricsError(C.BAD_OPTION, `task "binary" needs exactly 2 classes, got ${input.classes.length}`);
  }
  return task;
}

export function prepareEvaluation(input: EvaluationInput): PreparedEvaluation {
  const numClasses = input.classes.length;
  if (numClasses < 2) throw new MetricsError(C.BAD_OPTION, `classes must name at least 2 classes, got ${numClasses}`);
  if (new Set(input.classes).size !== numClasses) {
    throw new MetricsError(C.BAD_OPTION, `classes must be distinct, got ${JSON.stringify(input.classes)}`);
  }
  const positiveIndex = input.classes.indexOf(input.positiveClass);
  if (positiveIndex < 0) {
    throw new MetricsError(
      C.BAD_OPTION,
      `positiveClass "${input.positiveClass}" is not one of classes ${JSON.stringify(input.classes)}`,
    );
  }
  const task = resolveTask(input);
  const labels = checkLabels(input.labels, numClasses);
  if (labels.length === 0) throw new MetricsError(C.EMPTY, "labels is empty: nothing to evaluate");
  const flat = toFlatScores(input.scores, labels.length, numClasses);
  const columns: Float64Array[] = [];
  const orders: Uint32Array[] = [];
  const isClass: Uint8Array[] = [];
  for (let c = 0; c < numClasses; c++) {
    const col = column(flat, numClasses, c);
    columns.push(col);
    orders.push(ascendingOrder(col));
    isClass.push(Uint8Array.from(labels, (y) => (y === c ? 1 : 0)));
  }
  const predictions = argmaxRows(flat, numClasses);
  return { task, classes: [...input.classes], numClasses, positiveIndex, labels, predictions, isClass, columns, orders };
}

/** The headline metrics of a prepared evaluation, optionally under per-sample weights (a bootstrap resample). */
export function metricsOf(p: PreparedEvaluation, weights?: ArrayLike<number>): EvaluationMetrics {
  const counts = confusionCounts(p.labels, p.predictions, p.numClasses, weights);
  const pos = classScoresFromCounts(counts, p.numClasses, p.positiveIndex);
  let f1Sum = 0;
  for (let c = 0; c < p.numClasses; c++) f1Sum += classScoresFromCounts(counts, p.numClasses, c).f1;
  const k = p.positiveIndex;
  const metrics: EvaluationMetrics = {
    auc: aucFromOrder(p.orders[k]!, p.columns[k]!, p.isClass[k]!, weights),
    precision: pos.precision,
    recall: pos.recall,
    f1: pos.f1,
    accuracy: accuracyFromCounts(counts, p.numClasses),
    macroF1: f1Sum / p.numClasses,
  };
  if (p.task === "multiclass") metrics.macroAuc = macroMean(classAucs(p, weights));
  return metrics;
}

function classAucs(p: PreparedEvaluation, weights?: ArrayLike<number>): (number | null)[] {
  return p.columns.map((col, c) => aucFromOrder(p.orders[c]!, col, p.isClass[c]!, weights));
}

/** Evaluates class scores against true labels: headline metrics, per-class numbers and the confusion matrix. */
export function evaluateClassifier(input: EvaluationInput): Evaluation {
  const p = prepareEvaluation(input);
  const counts = confusionCounts(p.labels, p.predictions, p.numClasses);
  const aucs = classAucs(p);
  return {
    task: p.task,
    n: p.labels.length,
    classes: p.classes,
    positiveIndex: p.positiveIndex,
    metrics: metricsOf(p),
    perClass: p.classes.map((name, c) => ({
      class: name,
      ...classScoresFromCounts(counts, p.numClasses, c),
      auc: aucs[c] ?? null,
    })),
    confusionMatrix: toRows(counts, p.numClasses),
  };
}

/**
 * Labels of a multiclass set mapped to a binary model's classes (Table 17: binary models on the multiclass test
 * set): the positive class becomes `positiveIndex`, every other class `negativeIndex`.
 */
export function binariseLabels(
  labels: Labels,
  fromPositiveIndex: number,
  to: { positiveIndex: number; negativeIndex: number } = { positiveIndex: 1, negativeIndex: 0 },
): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (!Number.isInteger(v) || v < 0) {
      throw new MetricsError(C.BAD_LABEL, `labels[${i}] must be a class index >= 0, got ${String(v)}`);
    }
    out[i] = v === fromPositiveIndex ? to.positiveIndex : to.negativeIndex;
  }
  return out;
}
