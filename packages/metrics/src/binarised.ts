/**
 * A multiclass model read as a binary one, positive class vs the rest (paper, section 4, next to Table 17): an
 * image is predicted positive when its most probable class (argmax, the first maximum) is the positive class;
 * the AUC ranks images by the positive class's probability. Precision, recall and F1 are the positive class's;
 * accuracy is over the two merged classes (not over all classes, as multiclassMetrics reports it).
 */
import { aucOrNull } from "./auc.ts";
import { bootstrapCis, type BootstrapCi } from "./bootstrap.ts";
import { accuracyOf, classScores, countMatrix } from "./confusion.ts";
import { MetricInputError } from "./errors.ts";

export interface BinaryReading {
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  /** null when the labels hold only one of the two merged classes. */
  auc: number | null;
  /** 2 × 2, rows true [rest, positive], columns predicted [rest, positive]. */
  confusion: number[][];
}

/** `labels`: class indices; `probs`: n × k row-major; `pos`: the positive class's index. */
export function readAsBinary(labels: ArrayLike<number>, probs: ArrayLike<number>, pos: number): BinaryReading {
  const n = labels.length;
  if (n === 0) throw new MetricInputError("empty", "labels is empty: there is nothing to compute a metric on");
  const k = probs.length / n;
  if (!Number.isInteger(k) || k < 2) throw new MetricInputError("bad_shape", `probs has ${probs.length} values for ${n} labels: not an n × k matrix with k >= 2`);
  if (!Number.isInteger(pos) || pos < 0 || pos >= k) throw new MetricInputError("bad_option", `positive class index ${pos} is not one of the ${k} classes`);
  const y = new Int32Array(n);
  const pred = new Int32Array(n);
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if ((probs[i * k + c] as number) > (probs[i * k + best] as number)) best = c;
    y[i] = labels[i] === pos ? 1 : 0;
    pred[i] = best === pos ? 1 : 0;
    score[i] = probs[i * k + pos] as number;
  }
  const confusion = countMatrix(y, pred, 2);
  return { ...classScores(confusion, 1), accuracy: accuracyOf(confusion), auc: aucOrNull(score, y), confusion };
}

export interface BinaryReadingReport {
  n: number;
  rule: "argmax";
  metrics: Omit<BinaryReading, "confusion">;
  confusionMatrix: number[][];
  /** 95% stratified percentile bootstrap (1000 resamples, seeded), per metric; null where undefined. */
  intervals: Record<string, BootstrapCi | null>;
}

/** readAsBinary with seeded bootstrap intervals, resampled within each true (multiclass) class. */
export function readAsBinaryReport(labels: ArrayLike<number>, probs: Float32Array, pos: number, seed: number): BinaryReadingReport {
  const m = readAsBinary(labels, probs, pos);
  const withAuc = m.auc !== null;
  const cis = bootstrapCis((y, s: Float32Array) => {
    const r = readAsBinary(y, s, pos);
    return { precision: r.precision, recall: r.recall, f1: r.f1, accuracy: r.accuracy, ...(withAuc ? { auc: r.auc ?? Number.NaN } : {}) };
  }, labels, probs, { seed, resamples: 1000, level: 0.95 }) as Record<string, BootstrapCi>;
  const { confusion, ...metrics } = m;
  return { n: labels.length, rule: "argmax", metrics, confusionMatrix: confusion, intervals: { auc: cis.auc ?? null, ...cis } };
}
