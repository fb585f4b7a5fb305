/**
 * One training epoch: the trial's training batches in the order TrialData gives for (seed, epoch), each
 * augmented with the trial's PRNG, one Adam step per batch on the mean softmax cross-entropy, with BatchNorm in
 * training mode (batch statistics, moving averages updated).
 *
 * Invariants: every tensor created for a batch is released before the next one (the number of live tensors is
 * the same after every epoch); a non-finite batch loss stops the epoch at once with DivergedError; an aborted
 * signal stops it between batches with CancelledError (a partial epoch is never checkpointed).
 */
import type * as tfTypes from "@tensorflow/tfjs";
import type { TrainerSpec, TrialData } from "@hypersweep/core";
import { augmentBatch, type UniformSource } from "@hypersweep/data/tf";
import { CancelledError, DivergedError, TrialDataError } from "./errors.ts";

type Tf = typeof tfTypes;

export interface EpochContext {
  tf: Tf;
  model: tfTypes.LayersModel;
  optimizer: tfTypes.Optimizer;
  data: TrialData;
  spec: TrainerSpec;
  rng: UniformSource;
  signal?: AbortSignal;
  /** Epoch of the last checkpoint, reported by CancelledError. */
  lastCheckpointEpoch: number;
}

/** Lets SIGTERM handlers and I/O run between batches (a training step blocks the thread). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function trainStep(ctx: EpochContext, x: Float32Array, y: Int32Array, n: number): number {
  const { tf, model, optimizer, data, spec } = ctx;
  const s = data.imageSize;
  const varList = model.trainableWeights.map((w) => w.read() as tfTypes.Variable);
  return tf.tidy(() => {
    const raw = tf.tensor4d(x, [n, s, s, 3]);
    const input = augmentBatch(tf, raw, spec.augmentations, spec.augmentationParams, ctx.rng);
    const target = tf.oneHot(tf.tensor1d(y, "int32"), data.classes.length);
    const cost = optimizer.minimize(
      () => {
        const logits = model.apply(input, { training: true }) as tfTypes.Tensor2D;
        return tf.losses.softmaxCrossEntropy(target, logits) as tfTypes.Scalar;
      },
      true,
      varList,
    );
    return cost!.dataSync()[0]!;
  });
}

/** Trains epoch `epoch` (1-based); returns the mean training loss over its samples. */
export async function trainEpoch(ctx: EpochContext, epoch: number): Promise<number> {
  let lossSum = 0;
  let seen = 0;
  for await (const batch of ctx.data.trainBatches(epoch, ctx.spec.batchSize, ctx.spec.seed)) {
    if (ctx.signal?.aborted) throw new CancelledError(ctx.lastCheckpointEpoch);
    if (batch.size === 0) continue;
    const loss = trainStep(ctx, batch.x, batch.y, batch.size);
    if (!Number.isFinite(loss)) throw new DivergedError(epoch, `training batch after ${seen} samples`, loss);
    lossSum += loss * batch.size;
    seen += batch.size;
    await yieldToEventLoop();
  }
  if (ctx.signal?.aborted) throw new CancelledError(ctx.lastCheckpointEpoch);
  if (seen === 0) throw new TrialDataError(`epoch ${epoch}: the training split gave no samples`);
  return lossSum / seen;
}
