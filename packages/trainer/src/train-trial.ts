/**
 * One trial, start (or resume) to result: the paper's recipe (section 3.2) as a library function. main.ts wraps
 * it as the trainer process; tests call it directly with a TrialData.
 *
 * - Model: buildModel(tf, architecture, { numClasses, imageSize, seed }) with the initialisers seeded from the
 *   trial seed; Adam (β 0.9/0.999, ε 1e-8 as in PyTorch) at spec.learningRate; StepLR per epoch.
 * - Search stage: exactly spec.epochs epochs; final stage: up to spec.epochs with early stopping when
 *   spec.earlyStopping is given. The result is the best epoch by spec.selectionMetric under core's epoch rule
 *   (a rise by more than minDelta, or a tie within minDelta with a lower validation loss), and its weights are
 *   published to spec.outputDir (and restored before the test set is scored).
 * - After every epoch: an `epoch` message, then a checkpoint, then a `checkpoint` message.
 * - Randomness: initial weights from deriveSeed(seed, 1); augmentation draws from a Mulberry32 seeded with
 *   deriveSeed(seed, 2) whose state is checkpointed; batch order from TrialData by (seed, epoch).
 */
import type * as tfTypes from "@tensorflow/tfjs";
import type { Predictions, TrainerMessage, TrainerSpec, TrialData } from "@hypersweep/core";
import { buildModel, importTorchvisionWeights, loadSafetensors, ModelConfigError } from "@hypersweep/models";
import {
  checkpointPath,
  cleanTemp,
  findLatestCheckpoint,
  restoreCheckpoint,
  trialFingerprint,
  writeCheckpoint,
} from "./checkpoint.ts";
import { BadSpecError, CancelledError, DivergedError, PretrainedWeightsError, TrainerError, TrialDataError } from "./errors.ts";
import { contractPredictions, evaluateSplit, predictSplit, testReport, type MetricsContext } from "./evaluate.ts";
import {
  initialProgress,
  learningRateAt,
  recordEpoch,
  shouldContinue,
  stoppingRule,
  type EpochRecord,
  type TrialProgress,
} from "./progress.ts";
import { deriveSeed, Mulberry32 } from "./rng.ts";
import { trainEpoch, type EpochContext } from "./train-epoch.ts";
import { publishModelFiles, restoreModelWeights } from "./weights-io.ts";

type Tf = typeof tfTypes;
type ResultMessage = Extract<TrainerMessage, { type: "result" }>;

export interface TrainTrialOptions {
  /** The tfjs namespace with its backend already active (loadBackend().tf). */
  tf: Tf;
  /** Receives every contract message (ready, epoch, checkpoint, result) in order. */
  emit: (message: TrainerMessage) => void;
  /** Aborting stops the trial between batches with CancelledError; finished epochs are already checkpointed. */
  signal?: AbortSignal;
  /** Reported in `ready`. @defaultValue the active tfjs backend and tfjs-core's version */
  backend?: { name: string; versions: Record<string, string> };
  /** Human-readable progress lines (the process sends them to stderr). @defaultValue none */
  log?: (line: string) => void;
}

export function checkData(spec: TrainerSpec, data: TrialData): MetricsContext {
  const { scenario } = spec.data;
  if (data.imageSize !== spec.imageSize) {
    throw new TrialDataError(`data has imageSize ${data.imageSize}, spec.imageSize is ${spec.imageSize}`);
  }
  if (JSON.stringify(data.classes) !== JSON.stringify(scenario.classes)) {
    throw new TrialDataError(`data classes ${JSON.stringify(data.classes)} differ from spec.data.scenario.classes ${JSON.stringify(scenario.classes)}`);
  }
  if (!data.classes.includes(scenario.positiveClass)) {
    throw new TrialDataError(`positive class "${scenario.positiveClass}" is not one of ${JSON.stringify(data.classes)}`);
  }
  if (spec.task === "binary" && data.classes.length !== 2) {
    throw new TrialDataError(`task "binary" needs exactly 2 classes, data has ${data.classes.length}`);
  }
  return { task: spec.task, classes: data.classes, positiveClass: scenario.positiveClass };
}

function setLearningRate(optimizer: tfTypes.Optimizer, lr: number): void {
  // AdamOptimizer reads its (protected) `learningRate` field at every step; StepLR changes it between epochs.
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

async function evaluateOrCancel(ctx: EpochContext, split: "valid" | "test") {
  try {
    return await predictSplit(ctx.tf, ctx.model, ctx.data, split, ctx.spec.batchSize, ctx.signal);
  } catch (e) {
    if (e instanceof CancelledError) throw new CancelledError(ctx.lastCheckpointEpoch);
    throw e;
  }
}

/** A finished epoch: its record (checkpointed with the progress) and the validation predictions it reports. */
interface EpochOutcome {
  rec: EpochRecord;
  predictions?: Predictions;
}

async function runEpoch(ctx: EpochContext, metricsCtx: MetricsContext, epoch: number): Promise<EpochOutcome> {
  const { spec, tf } = ctx;
  const started = performance.now();
  const lr = learningRateAt(spec.learningRate, epoch, spec.schedule);
  setLearningRate(ctx.optimizer, lr);
  const trainLoss = await trainEpoch(ctx, epoch);
  const pred = await evaluateOrCancel(ctx, "valid");
  if (!Number.isFinite(pred.loss)) throw new DivergedError(epoch, "validation", pred.loss);
  const { metrics } = evaluateSplit(pred, metricsCtx);
  const rec = { epoch, trainLoss, valLoss: pred.loss, lr, durationMs: Math.round(performance.now() - started), metrics };
  return { rec, predictions: contractPredictions(pred) };
}

async function finish(
  spec: TrainerSpec,
  ctx: EpochContext,
  metricsCtx: MetricsContext,
  progress: TrialProgress,
): Promise<ResultMessage> {
  const best = progress.history.find((h) => h.epoch === progress.bestEpoch);
  if (!best) throw new TrainerError("internal", "TRAINER_NO_BEST", `no record of best epoch ${progress.bestEpoch}`);
  const bestDir = checkpointPath(spec.checkpointDir, best.epoch);
  const weightsPath = await publishModelFiles(bestDir, spec.outputDir);
  const result: ResultMessage = {
    type: "result",
    bestEpoch: best.epoch,
    metrics: { ...best.metrics, valLoss: best.valLoss },
    weightsPath,
  };
  if (spec.evaluateTest) {
    // The kept weights' probabilities on both held-out splits; the receiver scores them (and keeps them).
    await restoreModelWeights(ctx.tf, ctx.model, bestDir);
    const test = await evaluateOrCancel(ctx, "test");
    if (!Number.isFinite(test.loss)) throw new DivergedError(best.epoch, "test", test.loss);
    const val = contractPredictions(await evaluateOrCancel(ctx, "valid"));
    const testPredictions = contractPredictions(test);
    if (val && testPredictions) result.predictions = { val, test: testPredictions };
    else result.test = { ...testReport(test, metricsCtx, spec.seed) };
  }
  return result;
}

/**
 * Starts from torchvision-named weights (`.safetensors`, e.g. ImageNet or the chest X-ray DenseNet-121+). The
 * classifier head is replaced when spec.pretrainedHead says so or its shape does not fit the scenario's classes,
 * else imported. Only on a fresh start: a resumed
 * trial's checkpoint already holds the (fine-tuned) weights.
 */
async function importPretrained(ctx: EpochContext, file: string, head: TrainerSpec["pretrainedHead"], log: (line: string) => void): Promise<void> {
  try {
    const report = importTorchvisionWeights(ctx.tf, ctx.model, await loadSafetensors(file), { skipHead: head === "replace" ? true : undefined });
    log(`pretrained ${file}: ${report.imported.length} tensors imported, head ${report.headReplaced ? "replaced" : "imported"}, ${report.unused.length} unused`);
  } catch (e) {
    throw new PretrainedWeightsError(file, e);
  }
}

/**
 * Restores the newest checkpoint of this trial, if any (weights, Adam state, PRNG state, progress); otherwise a
 * fresh start, from spec.pretrained when given. Returns the progress to continue from.
 */
async function resume(spec: TrainerSpec, ctx: EpochContext, rng: Mulberry32, log: (line: string) => void): Promise<TrialProgress> {
  await cleanTemp(spec.checkpointDir);
  const found = await findLatestCheckpoint(spec.checkpointDir, trialFingerprint(spec));
  if (!found) {
    if (spec.pretrained) await importPretrained(ctx, spec.pretrained, spec.pretrainedHead, log);
    return initialProgress();
  }
  await restoreCheckpoint(ctx.tf, found.dir, ctx.model, ctx.optimizer);
  rng.state = found.state.rngState;
  return found.state.progress;
}

/** The trial's model; an architecture that cannot take the spec's image size is a bad spec, not a crash. */
export function buildTrialModel(tf: Tf, spec: TrainerSpec, numClasses: number): tfTypes.LayersModel {
  try {
    return buildModel(tf, spec.architecture, { numClasses, imageSize: spec.imageSize, seed: deriveSeed(spec.seed, 1) });
  } catch (e) {
    if (!(e instanceof ModelConfigError)) throw e;
    throw new BadSpecError(`architecture ${spec.architecture}: ${e.message}`, [{ path: "imageSize", message: e.message }]);
  }
}

/** Trains one trial (resuming from spec.checkpointDir when it holds a checkpoint) and returns its result. */
export async function trainTrial(spec: TrainerSpec, data: TrialData, opts: TrainTrialOptions): Promise<ResultMessage> {
  const { tf, emit } = opts;
  const log = opts.log ?? (() => {});
  const metricsCtx = checkData(spec, data);
  const model = buildTrialModel(tf, spec, data.classes.length);
  const optimizer = tf.train.adam(spec.learningRate, 0.9, 0.999, 1e-8);
  const rng = new Mulberry32(deriveSeed(spec.seed, 2));
  const ctx: EpochContext = { tf, model, optimizer, data, spec, rng, signal: opts.signal, lastCheckpointEpoch: 0 };
  try {
    let progress = await resume(spec, ctx, rng, log);
    ctx.lastCheckpointEpoch = progress.epoch;
    const backend = opts.backend ?? { name: tf.getBackend(), versions: { "tfjs-core": tf.version_core } };
    emit({ type: "ready", backend: backend.name, versions: backend.versions, resumedFromEpoch: progress.epoch });
    // Replay the epochs the checkpoint covers: the worker's writes are idempotent, and an epoch checkpointed but
    // never recorded (its worker died in between) is not lost.
    for (const rec of progress.history) emit({ type: "epoch", ...rec });
    const rule = stoppingRule(spec);
    while (shouldContinue(progress, spec.epochs)) {
      const { rec, predictions } = await runEpoch(ctx, metricsCtx, progress.epoch + 1);
      progress = recordEpoch(progress, rec, spec.selectionMetric, rule, spec.task);
      emit({ type: "epoch", ...rec, ...(predictions ? { predictions } : {}) });
      log(`epoch ${rec.epoch}: train ${rec.trainLoss.toFixed(4)} val ${rec.valLoss.toFixed(4)} ${spec.selectionMetric} ${String(spec.selectionMetric === "valLoss" ? rec.valLoss : rec.metrics[spec.selectionMetric])} (${rec.durationMs} ms)`);
      const dir = await writeCheckpoint(spec.checkpointDir, {
        tf, model, optimizer,
        state: { fingerprint: trialFingerprint(spec), epoch: rec.epoch, rngState: rng.state, progress },
      });
      ctx.lastCheckpointEpoch = rec.epoch;
      emit({ type: "checkpoint", epoch: rec.epoch, path: dir });
    }
    if (progress.stopped) log(`early stopping after epoch ${progress.epoch} (best ${progress.bestEpoch})`);
    return await finish(spec, ctx, metricsCtx, progress);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
