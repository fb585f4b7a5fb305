/**
 * The evaluation job kind (stage "evaluate"): claimed, leased, retried and failed exactly like a training
 * (trial-processor.ts does all of that); only the spec it hands the trainer and the result it records differ.
 * - spec: the final trial's own spec in evaluate mode, its data = the evaluation's dataset version and rows'
 *   scenario, `evaluate.trainedOn` = the data the model was trained on (its normalisation), the stored images;
 * - result: the trainer's `predictions.test` must be exactly the stored images and labels; they are kept, and
 *   every number is scored from them by @hypersweep/metrics (the one scorer). A binarised evaluation adds the
 *   multiclass model it compares with, read as COVID-19 vs the rest, scored from its stored test predictions on
 *   the same images.
 */
import { resolve } from "node:path";
import { parseModelPath, TrainerSpec, type TrainerMessage } from "@hypersweep/core";
import type { ClaimedTrial, EvaluationTarget } from "@hypersweep/db";
import { readAsBinaryReport, scoreTest, toSplitScores } from "@hypersweep/metrics";
import type { WorkerStore } from "./store.ts";

type Result = Extract<TrainerMessage, { type: "result" }>;

export const isEvaluation = (c: ClaimedTrial) => (c.spec as { stage?: string }).stage === "evaluate";

/** Raised when a trainer's answer does not fit the evaluation asked for: the attempt fails (not retried). */
export class EvaluationResultError extends Error {}

export async function loadEvaluation(store: WorkerStore, c: ClaimedTrial): Promise<EvaluationTarget> {
  const t = await store.evaluationTarget(c.trialId);
  if (!t) throw new EvaluationResultError(`evaluation ${c.trialId} has no stored definition`);
  return t;
}

/** The stored evaluate block: the weights and the epoch they come from (the worker adds the rest). */
interface StoredEvaluate {
  weightsPath: string;
  epoch: number;
}

/** The claimed run as the final training it evaluates (stage final, no evaluate block): what trainerSpecFor takes. */
export function asTraining(c: ClaimedTrial): ClaimedTrial & { stored: StoredEvaluate } {
  const { evaluate, ...spec } = c.spec as { evaluate?: StoredEvaluate };
  if (!evaluate?.weightsPath || !evaluate.epoch) throw new EvaluationResultError("the stored evaluation spec has no evaluate block with weightsPath and epoch");
  return { ...c, spec: { ...spec, stage: "final" }, stored: evaluate };
}

/**
 * Where this node reads the model a result recorded: a model stored by the API (`models/<id>/<file>`) under the
 * data root (the shared volume; a node without it fetches it from there: cache-fetch), any other path as it is.
 */
export function modelPathOnNode(weightsPath: string, dataDir: string): string {
  return parseModelPath(weightsPath)?.relative ? resolve(dataDir, weightsPath) : weightsPath;
}

/** The trainer spec of an evaluation: `training` is the spec the final trial trained with (data = its data). */
export function evaluationSpec(training: TrainerSpec, stored: StoredEvaluate, e: EvaluationTarget): TrainerSpec {
  const sc = e.scenario as { key: string; modality: "ct" | "radiograph"; task: "binary" | "multiclass"; classes: string[]; positiveClass: string; filters?: Record<string, unknown> };
  return TrainerSpec.parse({
    ...training,
    stage: "evaluate",
    evaluateTest: false,
    earlyStopping: undefined,
    pretrained: undefined,
    data: {
      datasetVersionId: e.datasetVersionId,
      datasetDir: resolve(e.storagePath),
      cacheDir: training.data.cacheDir,
      scenario: { key: sc.key, modality: sc.modality, task: sc.task, classes: sc.classes, positiveClass: sc.positiveClass, filters: sc.filters ?? {}, minPerClass: 0 },
    },
    evaluate: { weightsPath: stored.weightsPath, epoch: stored.epoch, images: e.images, trainedOn: training.data },
  });
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Scores the trainer's predictions and records them and the result, both fenced by the attempt's lease. */
export async function recordEvaluation(store: WorkerStore, c: ClaimedTrial, attempt: number, spec: TrainerSpec, e: EvaluationTarget, result: Result, backend?: string): Promise<void> {
  const p = result.predictions?.test;
  if (!p) throw new EvaluationResultError("the trainer's result carries no predictions.test: an evaluation is scored from its predictions");
  if (!sameList(p.images, e.images)) throw new EvaluationResultError(`predictions.test.images differ from the ${e.images.length} images asked for (order included)`);
  if (!sameList(p.labels, e.labels)) throw new EvaluationResultError("predictions.test.labels differ from the evaluation's labels");
  const sc = spec.data.scenario;
  const report = scoreTest(toSplitScores(p), { task: sc.task, classes: sc.classes, positiveClass: sc.positiveClass }, spec.seed);
  const comparison = await binarisedComparison(store, c, e, spec.seed);
  await store.recordPredictions(c.trialId, attempt, [{ split: "test", images: p.images, labels: p.labels, probs: p.probs }]);
  await store.recordEvaluationResult(c.trialId, attempt, { result: { ...report, ...(comparison ? { comparison } : {}) }, backend });
}

/**
 * Binarised: the multiclass model of the comparison read as COVID-19 vs the rest (argmax), on the same images,
 * from its stored test predictions. Null for a cross-dataset evaluation.
 */
async function binarisedComparison(store: WorkerStore, c: ClaimedTrial, e: EvaluationTarget, seed: number) {
  if (!e.compareTrialId) return null;
  const compared = await store.trialPredictions(c.teamId, e.compareTrialId);
  const stored = compared?.splits.find((s) => s.split === "test");
  if (!compared || !stored) throw new EvaluationResultError(`the multiclass trial ${e.compareTrialId} has no stored test predictions to compare with`);
  const at = new Map(stored.images.map((h, i) => [h, i]));
  const rows = e.images.map((h) => at.get(h));
  const missing = rows.findIndex((i) => i === undefined);
  if (missing >= 0) throw new EvaluationResultError(`image ${e.images[missing]} is not in the stored test predictions of trial ${e.compareTrialId}`);
  const labels = rows.map((i) => stored.labels[i!]!);
  const scores = toSplitScores({ labels, probs: rows.map((i) => stored.probs[i!]!) });
  const { classes, positiveClass } = compared.trial;
  const pos = classes.indexOf(positiveClass);
  return { trialId: e.compareTrialId, classes, ...readAsBinaryReport(scores.labels, scores.probs, pos, seed) };
}
