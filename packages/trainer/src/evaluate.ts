/**
 * Evaluation of a model on the validation or test split: inference mode (BatchNorm uses its moving statistics),
 * softmax probabilities, mean cross-entropy, and the metrics of @hypersweep/metrics (section 3.3 of the paper).
 */
import type * as tfTypes from "@tensorflow/tfjs";
import type { TrialData } from "@hypersweep/core";
import {
  accuracyOf,
  binariseLabels,
  binaryMetrics,
  bootstrapCi,
  classScores,
  confusionMatrix,
  macroF1Of,
  MetricInputError,
  multiclassMetrics,
  positiveScores,
  rocAuc,
  type BootstrapCi,
} from "@hypersweep/metrics";
import { CancelledError, TrialDataError } from "./errors.ts";
import type { MetricValues } from "./progress.ts";

type Tf = typeof tfTypes;

export interface SplitPredictions {
  /** True class indices. */
  labels: Int32Array;
  /** N × C softmax probabilities, row-major. */
  probs: Float32Array;
  /** Mean cross-entropy over the split (NaN/∞ when the model diverged). */
  loss: number;
}

/**
 * Runs the model over a split in inference mode. An aborted `signal` stops it between batches with
 * CancelledError (epoch −1: the caller knows the last checkpoint and rethrows with it).
 */
export async function predictSplit(
  tf: Tf,
  model: tfTypes.LayersModel,
  data: TrialData,
  split: "valid" | "test",
  batchSize: number,
  signal?: AbortSignal,
): Promise<SplitPredictions> {
  const numClasses = data.classes.length;
  const labels: number[] = [];
  const probs: number[] = [];
  let lossSum = 0;
  for await (const batch of data.evalBatches(split, batchSize)) {
    if (signal?.aborted) throw new CancelledError(-1);
    if (batch.size === 0) continue;
    const [p, l] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, [batch.size, data.imageSize, data.imageSize, 3]);
      const logits = model.apply(x, { training: false }) as tfTypes.Tensor2D;
      const logp = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(batch.y, "int32"), numClasses)));
      return [tf.exp(logp).dataSync(), -picked.dataSync()[0]!] as const;
    });
    for (let i = 0; i < p.length; i++) probs.push(p[i]!);
    for (let i = 0; i < batch.size; i++) labels.push(batch.y[i]!);
    lossSum += l;
    await new Promise((resolve) => setImmediate(resolve)); // let a SIGTERM handler run between batches
  }
  if (labels.length === 0) throw new TrialDataError(`the ${split} split is empty: nothing to evaluate on`);
  return { labels: Int32Array.from(labels), probs: Float32Array.from(probs), loss: lossSum / labels.length };
}

export interface MetricsContext {
  task: "binary" | "multiclass";
  classes: readonly string[];
  positiveClass: string;
}

/** Predictions with everything the metrics need, derived once. */
interface Prepared {
  k: number;
  pos: number;
  labels: Int32Array;
  probs: Float32Array;
  /** 1 where the true class is the positive class. */
  isPositive: Int32Array;
  positiveScore: Float64Array;
}

function prepare(pred: SplitPredictions, ctx: MetricsContext): Prepared {
  const pos = ctx.classes.indexOf(ctx.positiveClass);
  return {
    k: ctx.classes.length,
    pos,
    labels: pred.labels,
    probs: pred.probs,
    isPositive: binariseLabels(pred.labels, pos),
    positiveScore: positiveScores(pred.probs, pred.labels.length, pos),
  };
}

function argmaxRows(probs: Float32Array, k: number): Int32Array {
  const out = new Int32Array(probs.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

function isSingleClass(e: unknown): boolean {
  return e instanceof MetricInputError && e.reason === "single_class";
}

function orNull<T>(f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    if (isSingleClass(e)) return null;
    throw e;
  }
}

export interface SplitEvaluation {
  /** auc, f1, precision, recall, accuracy (+ macroAuc for multiclass): finite numbers or null. */
  metrics: MetricValues;
  /** Rows: true class, columns: predicted class, both in `classes` order. */
  confusion: number[][];
}

/** A 2 × 2 [negative, positive] matrix in class order (the positive class may be class 0). */
function binaryToClassOrder(cm: number[][], pos: number): number[][] {
  return pos === 1 ? cm : [[cm[1]![1]!, cm[1]![0]!], [cm[0]![1]!, cm[0]![0]!]];
}

/**
 * Metrics when an AUC is undefined (a class missing from the split, e.g. a tiny validation set): the
 * confusion-matrix metrics still exist; the AUCs that cannot be computed are null.
 */
function fallbackMetrics(p: Prepared, ctx: MetricsContext): SplitEvaluation {
  const auc = orNull(() => rocAuc(p.isPositive, p.positiveScore));
  if (ctx.task === "binary") {
    const cm = confusionMatrix(p.isPositive, Int32Array.from(p.positiveScore, (s) => (s >= 0.5 ? 1 : 0)), 2);
    return { metrics: { ...classScores(cm, 1), accuracy: accuracyOf(cm), auc, macroF1: macroF1Of(cm) }, confusion: binaryToClassOrder(cm, p.pos) };
  }
  const cm = confusionMatrix(p.labels, argmaxRows(p.probs, p.k), p.k);
  return { metrics: { ...classScores(cm, p.pos), accuracy: accuracyOf(cm), auc, macroAuc: null, macroF1: macroF1Of(cm) }, confusion: cm };
}

function computeMetrics(p: Prepared, ctx: MetricsContext): SplitEvaluation {
  if (ctx.task === "binary") {
    const m = binaryMetrics(p.isPositive, p.positiveScore);
    const metrics = { auc: m.auc, f1: m.f1, precision: m.precision, recall: m.recall, accuracy: m.accuracy, macroF1: macroF1Of(m.confusion) };
    return { metrics, confusion: binaryToClassOrder(m.confusion, p.pos) };
  }
  const m = multiclassMetrics(p.labels, p.probs, p.pos);
  const metrics = { auc: m.auc, f1: m.f1, precision: m.precision, recall: m.recall, accuracy: m.accuracy, macroAuc: m.macroAuc, macroF1: macroF1Of(m.confusion) };
  return { metrics, confusion: m.confusion };
}

function finiteOrNull(values: MetricValues): MetricValues {
  const out: MetricValues = {};
  for (const [key, v] of Object.entries(values)) out[key] = typeof v === "number" && Number.isFinite(v) ? v : null;
  return out;
}

/**
 * The epoch/result metrics of a split: binary → binaryMetrics on the positive class's softmax probability
 * (threshold 0.5); multiclass → multiclassMetrics (argmax) with the positive class's index. Every value is a
 * finite number or null (e.g. AUC when the split holds a single class).
 */
export function evaluateSplit(pred: SplitPredictions, ctx: MetricsContext): SplitEvaluation {
  const p = prepare(pred, ctx);
  const e = orNull(() => computeMetrics(p, ctx)) ?? fallbackMetrics(p, ctx);
  return { metrics: finiteOrNull(e.metrics), confusion: e.confusion };
}

/** One bootstrap interval per headline metric, or null where the metric is undefined on the set. */
export type TestIntervals = Record<string, BootstrapCi | null>;

function bootstrapAll(p: Prepared, ctx: MetricsContext, seed: number): TestIntervals {
  const opts = { seed, resamples: 1000, level: 0.95 };
  const ci = <S extends Float64Array | Float32Array>(f: (y: Int32Array, s: S) => number, y: Int32Array, s: S) =>
    orNull(() => bootstrapCi(f, y, s, opts));
  if (ctx.task === "binary") {
    const m = (y: Int32Array, s: Float64Array) => binaryMetrics(y, s);
    return {
      auc: ci((y, s: Float64Array) => rocAuc(y, s), p.isPositive, p.positiveScore),
      f1: ci((y, s: Float64Array) => m(y, s).f1, p.isPositive, p.positiveScore),
      precision: ci((y, s: Float64Array) => m(y, s).precision, p.isPositive, p.positiveScore),
      recall: ci((y, s: Float64Array) => m(y, s).recall, p.isPositive, p.positiveScore),
      accuracy: ci((y, s: Float64Array) => m(y, s).accuracy, p.isPositive, p.positiveScore),
    };
  }
  const m = (y: Int32Array, s: Float32Array) => multiclassMetrics(y, s, p.pos);
  const keys = ["auc", "f1", "precision", "recall", "accuracy", "macroAuc"] as const;
  return Object.fromEntries(keys.map((k) => [k, ci((y, s: Float32Array) => m(y, s)[k], p.labels, p.probs)]));
}

/** Test-set report for `result.test`: metrics, confusion matrix, loss and 95% bootstrap intervals (seeded). */
export interface TestReport {
  n: number;
  classes: string[];
  positiveClass: string;
  loss: number;
  metrics: MetricValues;
  confusionMatrix: number[][];
  intervals: TestIntervals;
}

export function testReport(pred: SplitPredictions, ctx: MetricsContext, seed: number): TestReport {
  const e = evaluateSplit(pred, ctx);
  return {
    n: pred.labels.length,
    classes: [...ctx.classes],
    positiveClass: ctx.positiveClass,
    loss: pred.loss,
    metrics: e.metrics,
    confusionMatrix: e.confusion,
    intervals: bootstrapAll(prepare(pred, ctx), ctx, seed),
  };
}
