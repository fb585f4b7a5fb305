/**
 * The paper's further evaluations (section 4), decided here and run on a worker:
 * - cross-dataset (Tables 15–16): a final model on another dataset version's test rows, minus every image the
 *   model saw in training or validation (by content hash), optionally sampled to a class balance (seeded);
 * - binarised (Table 17): a binary final model on the multiclass test set of the same dataset version and
 *   modality (labels binarised: COVID-19 vs the rest), next to that multiclass model read as COVID-19 vs the rest.
 * The rows are chosen once, here, and stored with the evaluation; the worker scores exactly them.
 */
import { z } from "zod";
import { text } from "@hypersweep/core";
import { selectEvaluationRows, seenImages, type ModelScenario, type Selection } from "@hypersweep/data";
import { createEvaluation, evaluationSourceTrial, findPlanningVersion, getDatasetVersion, multiclassFinalTrials, NotFoundError, type Db } from "@hypersweep/db";
import { enqueueTrials, type TrialQueue } from "@hypersweep/queue";
import { badRequest } from "./errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const CreateEvaluationBody = z.strictObject({
  /** The final trial whose model is scored. */
  trial: text({ max: 100 }),
  /** Cross-dataset: the dataset version to score on (an id), or `dataset` (id or name: its newest version). */
  datasetVersion: z.string().uuid().optional(),
  dataset: text().optional(),
  /** Which rows of the target: the model's scenario, with another modality or filters; task and classes must match. */
  scenario: z
    .strictObject({
      modality: z.enum(["ct", "radiograph"]).optional(),
      task: z.enum(["binary", "multiclass"]).optional(),
      classes: z.array(text({ max: 50 })).min(2).max(20).optional(),
      filters: z
        .strictObject({ lungPresence: z.array(z.enum(["full", "partial", "none"])).min(1).optional(), suitable: z.boolean().optional() })
        .optional(),
    })
    .optional(),
  /** Sample the rows to this balance: "equal", or a relative weight per class (classes left out are not scored). */
  classBalance: z.union([z.literal("equal"), z.record(text({ max: 50 }), z.number().positive().finite())]).optional(),
  /** Seed of the balance sampling. @defaultValue 0 */
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /** Binarised (Table 17): the binary model on the multiclass test set of its own dataset version and modality. */
  binarise: z.boolean().optional(),
  /** Binarised: the multiclass final trial to compare with. @defaultValue the newest of the same architecture */
  compareTrial: z.string().uuid().optional(),
});
export type CreateEvaluationBody = z.output<typeof CreateEvaluationBody>;

interface StoredScenario {
  key: string;
  modality: "ct" | "radiograph";
  task: "binary" | "multiclass";
  classes: string[];
  positiveClass: string;
  filters?: { lungPresence?: ("full" | "partial" | "none")[]; suitable?: boolean };
  minPerClass?: number;
}

type Rows = Parameters<typeof selectEvaluationRows>[0];
const rowsOf = (manifest: unknown): Rows => ((Array.isArray(manifest) ? manifest : ((manifest as { rows?: unknown[] })?.rows ?? [])) as Rows);
const invalid = (path: string, message: string) => badRequest(`${path}: ${message}`, [{ path, message }]);

/** A final trial of the team with its model, sweep scenario and dataset version; 404 for anything else's id. */
async function finalModel(db: Db, teamId: string, id: string, path: string) {
  if (!UUID.test(id)) throw new NotFoundError("trial", id);
  const t = await evaluationSourceTrial(db, teamId, id);
  if (!t) throw new NotFoundError("trial", id);
  if (t.stage !== "final") throw invalid(path, `trial ${id} is a ${t.stage} trial: only a final training's model can be evaluated (POST /v1/sweeps/:id/final)`);
  if (t.status !== "succeeded" || !t.weightsPath || !t.bestEpoch) throw invalid(path, `final trial ${id} has not succeeded (status ${t.status}): it has no model yet`);
  return { ...t, weightsPath: t.weightsPath, bestEpoch: t.bestEpoch, scenario: t.sweep.scenario as unknown as StoredScenario };
}

async function targetVersion(db: Db, teamId: string, body: CreateEvaluationBody, fallback: string): Promise<string> {
  if (body.datasetVersion) return body.datasetVersion;
  if (!body.dataset) return fallback;
  const found = await findPlanningVersion(db, teamId, body.dataset);
  if (!found.dataset) throw new NotFoundError("dataset", body.dataset);
  if (!found.version) throw invalid("dataset", `dataset '${body.dataset}' has no version yet`);
  return found.version.id;
}

/** The model's scenario, with the request's modality and filters; a task or classes that differ are refused. */
function evaluationScenario(model: StoredScenario, req: CreateEvaluationBody["scenario"]): ModelScenario & { key: string; positiveClass: string } {
  if (req?.task && req.task !== model.task) throw invalid("scenario.task", `the model was trained for task ${model.task}, not ${req.task}: its classes would not match`);
  if (req?.classes && JSON.stringify(req.classes) !== JSON.stringify(model.classes)) {
    throw invalid("scenario.classes", `the model's classes are ${JSON.stringify(model.classes)} (in label order), not ${JSON.stringify(req.classes)}`);
  }
  const modality = req?.modality ?? model.modality;
  const filters = req?.filters ?? (req?.modality && req.modality !== model.modality ? undefined : model.filters);
  return { key: `${modality}/${model.task}`, modality, task: model.task, classes: model.classes, positiveClass: model.positiveClass, filters };
}

/** The multiclass final model a binarised evaluation compares with (named, or the newest of the architecture). */
async function multiclassPeer(db: Db, teamId: string, binary: Awaited<ReturnType<typeof finalModel>>, named?: string) {
  if (named) {
    const m = await finalModel(db, teamId, named, "compareTrial");
    if (m.scenario.task !== "multiclass") throw invalid("compareTrial", `trial ${named} is a ${m.scenario.task} model, not a multiclass one`);
    return m;
  }
  const peers = await multiclassFinalTrials(db, teamId, binary.architecture, binary.sweep.datasetVersionId);
  const peer = peers.find((p) => (p.sweep.scenario as unknown as StoredScenario).modality === binary.scenario.modality);
  if (!peer) {
    throw invalid("binarise", `no succeeded multiclass final model of ${binary.architecture} on this dataset version and modality (${binary.scenario.modality}) to compare with: train one, or name it in compareTrial`);
  }
  return finalModel(db, teamId, peer.id, "compareTrial");
}

export interface CreatedEvaluation {
  id: string;
  created: boolean;
  enqueued: boolean;
  selection: Selection["report"];
}

export async function createEvaluationFor(deps: { db: Db; queue: TrialQueue; maxQueuedTrials?: number }, teamId: string, body: CreateEvaluationBody): Promise<CreatedEvaluation> {
  const { db } = deps;
  const model = await finalModel(db, teamId, body.trial, "trial");
  const trainedRows = rowsOf(model.sweep.datasetVersion.manifest);
  const seen = seenImages(trainedRows, { modality: model.scenario.modality, task: model.scenario.task, classes: model.scenario.classes, filters: model.scenario.filters });
  let scenario: ReturnType<typeof evaluationScenario>;
  let versionId: string;
  let compareTrialId: string | null = null;
  let toModelLabel = (l: number) => l;
  if (body.binarise) {
    if (model.scenario.task !== "binary") throw invalid("binarise", `trial ${model.id} is a ${model.scenario.task} model: binarised evaluation scores a binary model on the multiclass test set`);
    if (body.datasetVersion || body.dataset || body.scenario) throw invalid("binarise", "a binarised evaluation uses the multiclass model's test set: leave out datasetVersion, dataset and scenario");
    const peer = await multiclassPeer(db, teamId, model, body.compareTrial);
    compareTrialId = peer.id;
    versionId = peer.sweep.datasetVersionId;
    scenario = { key: peer.scenario.key, modality: peer.scenario.modality, task: "multiclass", classes: peer.scenario.classes, positiveClass: peer.scenario.positiveClass, filters: peer.scenario.filters };
    const pos = model.scenario.classes.indexOf(model.scenario.positiveClass);
    const neg = model.scenario.classes.findIndex((_, i) => i !== pos);
    toModelLabel = (l: number) => (peer.scenario.classes[l] === model.scenario.positiveClass ? pos : neg);
  } else {
    if (body.compareTrial) throw invalid("compareTrial", "compareTrial is for binarised evaluations (binarise: true)");
    if (!body.datasetVersion && !body.dataset) throw invalid("datasetVersion", "required: the dataset version to evaluate on (or dataset, for its newest version)");
    versionId = await targetVersion(db, teamId, body, model.sweep.datasetVersionId);
    scenario = evaluationScenario(model.scenario, body.scenario);
  }
  const target = await getDatasetVersion(db, teamId, versionId);
  let selection: Selection;
  try {
    selection = selectEvaluationRows(rowsOf(target.manifest), { scenario, seen, classBalance: body.classBalance, seed: body.seed });
  } catch (e) {
    const msg = (e as Error).message;
    if ((e as { code?: string }).code === "SCENARIO_INVALID") throw invalid(/class balance|not one of the model's classes/.test(msg) ? "classBalance" : "scenario", msg);
    throw e;
  }
  const r = selection.report;
  if (selection.images.length === 0) {
    const why = r.testRows === 0
      ? `dataset version ${versionId} has no test images in scenario ${scenario.key}`
      : `no test image is left to score: ${r.testRows} test rows, ${r.duplicates} duplicates, ${r.removed.total} removed as seen by the model (${r.removed.training} in training, ${r.removed.validation} in validation)${r.balance ? `, available per class ${JSON.stringify(r.available)} for the balance ${JSON.stringify(r.balance)}` : ""}`;
    throw badRequest(why, [{ path: body.binarise ? "binarise" : "datasetVersion", message: why }]);
  }
  // The trial's own trainer spec, in evaluate mode: the worker adds the images, the data and trainedOn.
  const spec = { ...(model.spec as Record<string, unknown>), stage: "evaluate", evaluateTest: false, evaluate: { weightsPath: model.weightsPath, epoch: model.bestEpoch } };
  // The rows' scenario as the trainer resolves it on the target: the model's task and classes (labels), the rows'
  // modality and filters (binarised: the multiclass model's, so that every row of its test set is found).
  const stored = { key: model.scenario.key, modality: scenario.modality, task: model.scenario.task, classes: model.scenario.classes,
    positiveClass: model.scenario.positiveClass, filters: scenario.filters ?? {}, ...(body.binarise ? { rowsFrom: `${scenario.key} (trial ${compareTrialId})` } : {}) };
  const created = await createEvaluation(db, teamId, {
    trialId: model.id,
    kind: body.binarise ? "binarised" : "cross_dataset",
    datasetVersionId: versionId,
    scenario: stored,
    selection: { ...r, classes: model.scenario.classes },
    images: selection.images,
    labels: selection.labels.map(toModelLabel),
    compareTrialId,
    spec,
  }, { maxQueuedTrials: deps.maxQueuedTrials });
  let enqueued = true;
  if (created.created) {
    try {
      await enqueueTrials(deps.queue, [{ trialId: created.id, sweepId: created.sweepId }]);
    } catch {
      enqueued = false; // the reconciler enqueues it once Redis answers
    }
  }
  return { id: created.id, created: created.created, enqueued, selection: r };
}
