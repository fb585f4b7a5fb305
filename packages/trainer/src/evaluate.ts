/**
 * Evaluation of a model on the validation or test split: inference mode (BatchNorm uses its moving statistics),
 * softmax probabilities and mean cross-entropy. Scoring is @hypersweep/metrics' one scorer (scoreSplit,
 * scoreTest), the same the worker applies to the predictions every trainer reports.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import type { Predictions, TrialData } from "@hypersweep/core";
import { float32Json, scoreSplit, scoreTest, type ScoringContext, type SplitEvaluation, type TestReport } from "@hypersweep/metrics";
import { CancelledError, TrialDataError } from "./errors.ts";

type Tf = typeof tfTypes;

export interface SplitPredictions {
  /** True class indices. */
  labels: Int32Array;
  /** N × C softmax probabilities, row-major. */
  probs: Float32Array;
  /** Mean cross-entropy over the split (NaN/∞ when the model diverged). */
  loss: number;
  /** The images' sha256 in split order, when the data knows them (TrialData.imageHashes). */
  images?: readonly string[];
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
  const images = data.imageHashes?.(split);
  if (images && images.length !== labels.length) {
    throw new TrialDataError(`the ${split} split has ${labels.length} images but ${images.length} image hashes`);
  }
  return { labels: Int32Array.from(labels), probs: Float32Array.from(probs), loss: lossSum / labels.length, ...(images ? { images } : {}) };
}

export type MetricsContext = ScoringContext;
export type { SplitEvaluation, TestReport };

/** The epoch/result metrics of a split (the one scorer). */
export function evaluateSplit(pred: SplitPredictions, ctx: MetricsContext): SplitEvaluation {
  return scoreSplit(pred, ctx);
}

/** Test-set report for `result.test`: metrics, confusion matrix, loss and 95% bootstrap intervals (seeded). */
export function testReport(pred: SplitPredictions, ctx: MetricsContext, seed: number): TestReport {
  return scoreTest(pred, ctx, seed, pred.loss);
}

/**
 * The contract's Predictions of a split, or undefined when the data cannot name its images. Probabilities are
 * written as the shortest decimals that read back as the same float32 (a receiver scores the same values).
 */
export function contractPredictions(pred: SplitPredictions): Predictions | undefined {
  if (!pred.images) return undefined;
  const k = pred.probs.length / pred.labels.length;
  const probs: number[][] = [];
  for (let i = 0; i < pred.labels.length; i++) {
    const row = new Array<number>(k);
    for (let c = 0; c < k; c++) row[c] = float32Json(pred.probs[i * k + c]!);
    probs.push(row);
  }
  return { images: [...pred.images], labels: Array.from(pred.labels), probs };
}
