/**
 * The one scorer: a model's probabilities on a split (labels + n × k softmax rows) to the metrics every trainer's
 * epochs and results are stored with (paper, section 3.3), whichever trainer produced them.
 * - binary: binaryMetrics on the positive class's probability (threshold 0.5), plus macroF1;
 * - multiclass: multiclassMetrics (argmax) with the positive class's index, plus macroAuc and macroF1.
 * Every value is a finite number or null (an AUC when the split holds a single class). The test report adds the
 * confusion matrix (in class order), the cross-entropy and seeded 95% bootstrap intervals.
 */
import { rocAuc } from "./auc.ts";
import { bootstrapCi, type BootstrapCi } from "./bootstrap.ts";
import { binariseLabels, binaryMetrics, multiclassMetrics, positiveScores } from "./classification.ts";
import { accuracyOf, classScores, confusionMatrix, macroF1Of } from "./confusion.ts";
import { MetricInputError } from "./errors.ts";

/** A split's predictions: true class indices and row-major n × k probabilities (float32 as trainers send). */
export interface SplitScores {
  labels: Int32Array;
  probs: Float32Array;
}

export interface ScoringContext {
  task: "binary" | "multiclass";
  /** Class names in label order. */
  classes: readonly string[];
  positiveClass: string;
}

export type MetricValues = Record<string, number | null>;

export interface SplitEvaluation {
  /** auc, f1, precision, recall, accuracy, macroF1 (+ macroAuc for multiclass): finite numbers or null. */
  metrics: MetricValues;
  /** Rows: true class, columns: predicted class, both in `classes` order. */
  confusion: number[][];
}

/** Predictions with everything the metrics need, derived once. */
interface Prepared {
  k: number;
  pos: number;
  labels: Int32Array;
  probs: Float32Array;
  isPositive: Int32Array;
  positiveScore: Float64Array;
}

function prepare(pred: SplitScores, ctx: ScoringContext): Prepared {
  const pos = ctx.classes.indexOf(ctx.positiveClass);
  if (pos < 0) throw new MetricInputError("bad_option", `positive class "${ctx.positiveClass}" is not one of ${JSON.stringify(ctx.classes)}`);
  const k = ctx.classes.length;
  if (pred.probs.length !== pred.labels.length * k) {
    throw new MetricInputError("bad_shape", `probs has ${pred.probs.length} values for ${pred.labels.length} labels × ${k} classes`);
  }
  return {
    k, pos, labels: pred.labels, probs: pred.probs,
    isPositive: binariseLabels(pred.labels, pos),
    positiveScore: positiveScores(pred.probs, pred.labels.length, pos),
  };
}

/** The predicted class of each row (the first maximum). */
export function argmaxOfRows(probs: Float32Array, k: number): Int32Array {
  const out = new Int32Array(probs.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

function orNull<T>(f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    if (e instanceof MetricInputError && e.reason === "single_class") return null;
    throw e;
  }
}

/** A 2 × 2 [negative, positive] matrix in class order (the positive class may be class 0). */
function binaryToClassOrder(cm: number[][], pos: number): number[][] {
  return pos === 1 ? cm : [[cm[1]![1]!, cm[1]![0]!], [cm[0]![1]!, cm[0]![0]!]];
}

/** Metrics when an AUC is undefined (a class missing from the split): the confusion-matrix metrics still exist. */
function fallbackMetrics(p: Prepared, ctx: ScoringContext): SplitEvaluation {
  const auc = orNull(() => rocAuc(p.isPositive, p.positiveScore));
  if (ctx.task === "binary") {
    const cm = confusionMatrix(p.isPositive, Int32Array.from(p.positiveScore, (s) => (s >= 0.5 ? 1 : 0)), 2);
    return { metrics: { ...classScores(cm, 1), accuracy: accuracyOf(cm), auc, macroF1: macroF1Of(cm) }, confusion: binaryToClassOrder(cm, p.pos) };
  }
  const cm = confusionMatrix(p.labels, argmaxOfRows(p.probs, p.k), p.k);
  return { metrics: { ...classScores(cm, p.pos), accuracy: accuracyOf(cm), auc, macroAuc: null, macroF1: macroF1Of(cm) }, confusion: cm };
}

function computeMetrics(p: Prepared, ctx: ScoringContext): SplitEvaluation {
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

/** The metrics and confusion matrix of one split's predictions. */
export function scoreSplit(pred: SplitScores, ctx: ScoringContext): SplitEvaluation {
  const p = prepare(pred, ctx);
  const e = orNull(() => computeMetrics(p, ctx)) ?? fallbackMetrics(p, ctx);
  return { metrics: finiteOrNull(e.metrics), confusion: e.confusion };
}

/** One bootstrap interval per headline metric, or null where the metric is undefined on the set. */
export type TestIntervals = Record<string, BootstrapCi | null>;

function bootstrapAll(p: Prepared, ctx: ScoringContext, seed: number): TestIntervals {
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
  // Each metric on its own, so that a class absent from the test set (no macroAuc) still leaves the others'
  // intervals: the threshold metrics need only the argmax confusion, the AUC only the positive column.
  const cm = (y: Int32Array, s: Float32Array) => confusionMatrix(y, argmaxOfRows(s, p.k), p.k);
  const counts = (key: "f1" | "precision" | "recall") => (y: Int32Array, s: Float32Array) => classScores(cm(y, s), p.pos)[key];
  return {
    auc: ci((y, s: Float64Array) => rocAuc(y, s), p.isPositive, p.positiveScore),
    f1: ci(counts("f1"), p.labels, p.probs),
    precision: ci(counts("precision"), p.labels, p.probs),
    recall: ci(counts("recall"), p.labels, p.probs),
    accuracy: ci((y, s: Float32Array) => accuracyOf(cm(y, s)), p.labels, p.probs),
    macroAuc: ci((y, s: Float32Array) => multiclassMetrics(y, s, p.pos).macroAuc, p.labels, p.probs),
  };
}

/** Mean cross-entropy of the true classes' probabilities (a zero probability counts as float32's smallest). */
export function crossEntropy(pred: SplitScores, k: number): number {
  let sum = 0;
  for (let i = 0; i < pred.labels.length; i++) sum -= Math.log(Math.max(pred.probs[i * k + pred.labels[i]!]!, 1.4e-45));
  return sum / pred.labels.length;
}

/** A final model's test-set report: metrics, confusion matrix, loss and 95% bootstrap intervals (seeded). */
export interface TestReport {
  n: number;
  classes: string[];
  positiveClass: string;
  loss: number;
  metrics: MetricValues;
  confusionMatrix: number[][];
  intervals: TestIntervals;
}

/** The test report of a split's predictions; `loss` defaults to their cross-entropy. */
export function scoreTest(pred: SplitScores, ctx: ScoringContext, seed: number, loss?: number): TestReport {
  const e = scoreSplit(pred, ctx);
  return {
    n: pred.labels.length,
    classes: [...ctx.classes],
    positiveClass: ctx.positiveClass,
    loss: loss ?? crossEntropy(pred, ctx.classes.length),
    metrics: e.metrics,
    confusionMatrix: e.confusion,
    intervals: bootstrapAll(prepare(pred, ctx), ctx, seed),
  };
}

/** Plain rows (as in a trainer's `predictions` or a stored row) as SplitScores: probabilities become float32. */
export function toSplitScores(p: { labels: readonly number[]; probs: readonly (readonly number[])[] }): SplitScores {
  const k = p.probs[0]?.length ?? 0;
  const probs = new Float32Array(p.labels.length * k);
  p.probs.forEach((row, i) => probs.set(row, i * k));
  return { labels: Int32Array.from(p.labels), probs };
}

/**
 * The shortest decimal that reads back as the same float32: what a trainer sends for each probability. Reading
 * the JSON into a Float32Array gives the trainer's exact values, so every metric scores bit-identically.
 */
export function float32Json(v: number): number {
  const f = Math.fround(v);
  // From 6 digits up (most float32 probabilities need 6 to 9); a shorter decimal prints short anyway (0.500000 is 0.5).
  for (let digits = 6; digits <= 9; digits++) {
    const d = Number(f.toPrecision(digits));
    if (Math.fround(d) === f) return d;
  }
  return f;
}
