/**
 * Evaluate mode (TrainerSpec stage "evaluate"): weights in, predictions out. No training, no checkpoint: the
 * spec's architecture is built for the scenario's classes, the weights of `evaluate.weightsPath` are loaded, and
 * the listed images (TrialData's test split, in the listed order) are scored in inference mode. The result carries
 * the probabilities (`predictions.test`), the metrics and the bootstrap intervals (`test`), and echoes the epoch
 * the weights come from as `bestEpoch`.
 */
import { dirname } from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import type { TrainerMessage, TrainerSpec, TrialData } from "@hypersweep/core";
import { BadSpecError, CancelledError, DivergedError, TrialDataError } from "./errors.ts";
import { predictSplit, testReport } from "./evaluate.ts";
import { buildTrialModel, checkData, type TrainTrialOptions } from "./train-trial.ts";
import { restoreModelWeights } from "./weights-io.ts";

type ResultMessage = Extract<TrainerMessage, { type: "result" }>;

/** The evaluate block of a spec, or a bad_spec error naming it. */
export function evaluateBlock(spec: TrainerSpec): NonNullable<TrainerSpec["evaluate"]> {
  if (!spec.evaluate) throw new BadSpecError(`stage "evaluate" needs an evaluate block`, [{ path: "evaluate", message: "required when stage is \"evaluate\"" }]);
  return spec.evaluate;
}

/** Rows of `probs` (N × C, row-major), rounded to 7 significant digits (float32 precision). */
function probRows(probs: Float32Array, k: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < probs.length; i += k) rows.push(Array.from(probs.subarray(i, i + k), (v) => Number(v.toPrecision(7))));
  return rows;
}

export async function evaluateModel(spec: TrainerSpec, data: TrialData, opts: TrainTrialOptions): Promise<ResultMessage> {
  const { tf, emit } = opts;
  const ev = evaluateBlock(spec);
  const metricsCtx = checkData(spec, data);
  if (data.counts.test !== ev.images.length) {
    throw new TrialDataError(`the data holds ${data.counts.test} images to score, evaluate.images lists ${ev.images.length}`);
  }
  const model: tfTypes.LayersModel = buildTrialModel(tf, spec, data.classes.length);
  try {
    await restoreModelWeights(tf, model, dirname(ev.weightsPath));
    const backend = opts.backend ?? { name: tf.getBackend(), versions: { "tfjs-core": tf.version_core } };
    emit({ type: "ready", backend: backend.name, versions: backend.versions, resumedFromEpoch: 0 });
    const pred = await predictSplit(tf, model, data, "test", spec.batchSize, opts.signal).catch((e: unknown) => {
      throw e instanceof CancelledError ? new CancelledError(0) : e;
    });
    if (!Number.isFinite(pred.loss)) throw new DivergedError(ev.epoch, "test", pred.loss);
    const report = testReport(pred, metricsCtx, spec.seed);
    opts.log?.(`scored ${pred.labels.length} images: ${JSON.stringify(report.metrics)}`);
    return {
      type: "result",
      bestEpoch: ev.epoch,
      metrics: { ...report.metrics, loss: pred.loss },
      weightsPath: ev.weightsPath,
      test: { ...report },
      predictions: { test: { images: [...ev.images], labels: Array.from(pred.labels), probs: probRows(pred.probs, data.classes.length) } },
    };
  } finally {
    model.dispose();
  }
}
