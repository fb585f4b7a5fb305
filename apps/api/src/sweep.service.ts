/**
 * Creating a sweep: resolve the dataset version and scenario, merge the preset with the overrides, expand the
 * full trial plan (pure, seeded: packages/core), store sweep + plan in one transaction, then enqueue every
 * trial with job id = trial id. If Redis is down the sweep is still stored; the reconciler enqueues it later.
 */
import { createHash, randomInt } from "node:crypto";
import { z } from "zod";
import { Architecture, canonicalJson, SweepOverrides, planTrials, resolveSweepSpec, text, TrainerName, type PlannedTrial, type SweepBounds } from "@hypersweep/core";
import { resolveScenario, type ResolvedScenario } from "@hypersweep/data";
import { createSweep, findPlanningVersion, LimitError, type Db, type CreatedSweep } from "@hypersweep/db";
import { enqueueTrials, type TrialQueue } from "@hypersweep/queue";
import { badRequest, limitExceeded, HttpError } from "./errors.ts";
import { resolvePretrained } from "./pretrained.ts";

export const SweepPriority = z.number().int().min(-1000).max(1000);

export const CreateSweepBody = z.strictObject({
  name: text({ max: 200 }).optional(),
  /** Dataset id or name (of the caller's team). */
  dataset: text({ max: 200 }),
  /** A version id; default: the dataset's newest version. */
  datasetVersion: z.string().uuid().optional(),
  scenario: z.strictObject({
    modality: z.enum(["ct", "radiograph"]),
    task: z.enum(["binary", "multiclass"]),
    filters: z
      .strictObject({
        lungPresence: z.array(z.enum(["full", "partial", "none"])).min(1).optional(),
        suitable: z.boolean().optional(),
      })
      .optional(),
    minPerClass: z.number().int().min(0).optional(),
  }),
  architectures: z.array(Architecture).min(1).max(6),
  preset: text({ max: 100 }).default("data-stock-2020"),
  overrides: SweepOverrides.optional(),
  /** Within the team, sweeps of higher priority run first; equal priorities run in submission order. @defaultValue 0 */
  priority: SweepPriority.optional(),
  /** Seed of the plan (and of every trial's training). Default: drawn at random and stored. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /** The trainer that trains every trial of the sweep. Default: the server's HYPERSWEEP_DEFAULT_TRAINER. */
  trainer: TrainerName.optional(),
});
export type CreateSweepBody = z.output<typeof CreateSweepBody>;

async function findVersion(db: Db, teamId: string, dataset: string, versionId?: string) {
  const { dataset: ds, version } = await findPlanningVersion(db, teamId, dataset, versionId);
  if (!ds) throw badRequest(`unknown dataset '${dataset}'`, [{ path: "dataset", message: `unknown dataset '${dataset}'` }]);
  if (!version) {
    const why = versionId ? `unknown version '${versionId}' of dataset '${dataset}'` : `dataset '${dataset}' has no version yet`;
    throw badRequest(why, [{ path: versionId ? "datasetVersion" : "dataset", message: why }]);
  }
  return { dataset: ds, version };
}

/** A per-trial seed derived from the sweep's seed and the trial's plan position (stable, distinct). */
export function trialSeed(sweepSeed: number, position: number): number {
  let h = (sweepSeed ^ Math.imul(position + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) & 0x7fffffff;
}

/** The trainer spec fixed at planning time (the worker adds ids, data paths and directories per attempt). */
function plannedSpec(t: PlannedTrial, task: string, seed: number): Record<string, unknown> {
  const { position, key: _key, ...trainer } = t;
  return { ...trainer, task, seed: trialSeed(seed, position) };
}

function storedScenario(s: ResolvedScenario) {
  const { rowIndices: _r, labels: _l, ...rest } = s;
  return rest;
}

export interface SubmitResult extends CreatedSweep {
  enqueued: boolean;
  scenario: ReturnType<typeof storedScenario>;
}

const SPLIT_WORDS = { train: "train", valid: "validation", test: "test" } as const;

/**
 * A binary sweep is decided by validation AUC and scored by test AUC, and an AUC needs both classes: a scenario
 * with no COVID-19 (or no other) image in validation or test cannot give an answer, so it is refused with the counts.
 */
export function assertAnswerable(s: ResolvedScenario): void {
  if (s.task !== "binary") return;
  const show = (split: keyof typeof SPLIT_WORDS) => `${SPLIT_WORDS[split]} has ${s.classes.map((c) => `${s.counts[split][c] ?? 0} ${c}`).join(", ")}`;
  const short = (["valid", "test"] as const).filter((split) => s.classes.some((c) => !s.counts[split][c]));
  if (!short.length) return;
  throw new HttpError(
    400,
    "SCENARIO_INVALID",
    `scenario ${s.key} cannot give an answer: AUC needs both classes in validation and in test, but ${short.map(show).join(" and ")} (${show("train")}); re-import the dataset with a split that puts both classes in every subset`,
    short.map((split) => ({ path: "scenario", message: show(split) })),
  );
}

/** What an operator bounds per team and per sweep (packages/config: apiLimitsEnv). */
export interface SweepLimits {
  maxQueuedTrials?: number;
  bounds?: SweepBounds;
  /** The trainer of a sweep that names none. @defaultValue "tfjs" */
  defaultTrainer?: TrainerName;
}

async function storeSweep(db: Db, limits: SweepLimits | undefined, sweep: Parameters<typeof createSweep>[1]) {
  try {
    return await createSweep(db, sweep, { maxQueuedTrials: limits?.maxQueuedTrials });
  } catch (err) {
    if (err instanceof LimitError) throw limitExceeded(`${err.message}; cancel a sweep or wait for trials to start`);
    throw err;
  }
}

/**
 * An Idempotency-Key header: what a client sends so that the same submission sent again (after a lost answer, a
 * timeout, a 503) creates one sweep. The team's own; any printable token a client makes (a UUID is typical).
 */
export const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{8,200}$/, "8 to 200 letters, digits or _ . : -");

/** What identifies a submission under an idempotency key: its body, canonically (key order does not matter). */
export const submissionHash = (body: CreateSweepBody) => createHash("sha256").update(canonicalJson(body)).digest("hex");

export async function submitSweep(
  deps: { db: Db; queue: TrialQueue; log?: (msg: string, err?: unknown) => void; limits?: SweepLimits },
  teamId: string,
  body: CreateSweepBody,
  idempotencyKey?: string,
): Promise<SubmitResult> {
  const { db, queue } = deps;
  const { dataset, version } = await findVersion(db, teamId, body.dataset, body.datasetVersion);
  const rows = (version.manifest as { rows?: unknown[] } | unknown[]) ?? [];
  const manifestRows = (Array.isArray(rows) ? rows : (rows.rows ?? [])) as Parameters<typeof resolveScenario>[0];
  const scenario = resolveScenario(manifestRows, {
    modality: body.scenario.modality,
    task: body.scenario.task,
    filters: body.scenario.filters,
    minPerClass: body.scenario.minPerClass,
  });
  assertAnswerable(scenario);
  const seed = body.seed ?? randomInt(0, 2 ** 31 - 1);
  const spec = resolveSweepSpec({
    preset: body.preset,
    overrides: body.overrides,
    architectures: body.architectures,
    task: body.scenario.task,
    modality: body.scenario.modality,
    seed,
    pretrained: await resolvePretrained(db, teamId, body.overrides?.pretrained, body.architectures),
    bounds: deps.limits?.bounds,
    trainer: body.trainer ?? deps.limits?.defaultTrainer,
  });
  const plan = planTrials(spec);
  const created = await storeSweep(db, deps.limits, {
    teamId,
    datasetId: dataset.id,
    datasetVersionId: version.id,
    name: body.name,
    scenarioKey: scenario.key,
    task: scenario.task,
    scenario: storedScenario(scenario) as unknown as Record<string, unknown>,
    preset: body.preset,
    spec: spec as unknown as Record<string, unknown>,
    seed,
    priority: body.priority,
    planHash: plan.planHash,
    ...(idempotencyKey ? { idempotency: { key: idempotencyKey, requestHash: submissionHash(body) } } : {}),
    trials: plan.trials.map((t) => ({
      position: t.position,
      key: t.key,
      architecture: t.architecture,
      learningRate: t.learningRate,
      augmentations: [...t.augmentations],
      stage: t.stage,
      spec: plannedSpec(t, scenario.task, seed),
    })),
  });
  // A repeat stored nothing: its trials were enqueued by the first copy (or are the reconciler's to enqueue).
  if (created.replayed) return { ...created, enqueued: true, scenario: storedScenario(scenario) };
  let enqueued = true;
  try {
    await enqueueTrials(queue, created.trials.map((t) => ({ trialId: t.id, sweepId: created.id })));
  } catch (err) {
    // Postgres holds the plan; the reconciler enqueues what is owed once Redis answers again.
    enqueued = false;
    deps.log?.("enqueue failed; the reconciler will enqueue this sweep", err);
  }
  return { ...created, enqueued, scenario: storedScenario(scenario) };
}
