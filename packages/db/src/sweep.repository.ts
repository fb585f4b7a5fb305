import { randomUUID } from "node:crypto";
import type pg from "pg";
import { sweepTrainer } from "@hypersweep/core";
import { inTransaction, type Db } from "./client.ts";
import { ConflictError, LimitError, NotFoundError } from "./errors.ts";
import { EVENTS_CHANNEL, notifyInTx } from "./events.ts";
import { sweepStages, type SweepStages } from "./sweep-stages.ts";
import { architectureEtas, estimateEta, type EtaSpec } from "./eta.repository.ts";

export interface NewTrial {
  position: number;
  key: string;
  architecture: string;
  learningRate: number;
  augmentations: string[];
  stage: "search" | "final";
  /** The planned trainer spec (everything fixed at planning time). */
  spec: Record<string, unknown>;
}

export interface NewSweep {
  teamId: string;
  datasetId: string;
  datasetVersionId: string;
  name?: string;
  scenarioKey: string;
  task: string;
  scenario: Record<string, unknown>;
  preset: string;
  spec: Record<string, unknown>;
  seed: number;
  planHash: string;
  /** Within the team, higher runs first. @defaultValue 0 */
  priority?: number;
  trials: NewTrial[];
  /**
   * The submission's idempotency key (the team's own) and the sha256 of its request: a sweep the team already
   * submitted under this key is the answer (`replayed`), and nothing is stored; under another request, a conflict.
   */
  idempotency?: { key: string; requestHash: string };
}

export interface CreatedSweep {
  id: string;
  planHash: string;
  createdAt: Date;
  trials: Array<{ id: string; position: number; key: string }>;
  /** The sweep was stored by an earlier submission with the same idempotency key: nothing was stored now. */
  replayed?: boolean;
}

type Q = Pick<pg.PoolClient, "query">;

/**
 * Refuses (LimitError) to add `adding` waiting trials past the team's waiting quota: its own (teams.max_waiting)
 * when an admin set one, else `serverMax`. Call it holding the team's submission lock (createSweep,
 * createEvaluation), so that two additions cannot both fit.
 */
export async function assertWaitingRoom(c: Q, teamId: string, adding: number, what: string, serverMax?: number): Promise<void> {
  const { rows: q } = await c.query<{ n: number; quota: number | null }>(
    `SELECT (SELECT count(*) FROM trials WHERE team_id = $1 AND status = 'queued')::int AS n, (SELECT max_waiting FROM teams WHERE id = $1) AS quota`,
    [teamId],
  );
  const { n: current, quota } = q[0]!;
  const limit = quota ?? serverMax;
  if (limit !== undefined && current + adding > limit) {
    const over = quota !== null ? `the team's waiting quota (maxWaiting) of ${limit}` : `the limit of ${limit} queued trials per team (HYPERSWEEP_MAX_QUEUED_TRIALS)`;
    throw new LimitError(limit, current, adding, `the team has ${current} queued trial(s) and ${what} adds ${adding}: over ${over}`);
  }
}

/** The team's submission lock (held to the end of the transaction): submissions of one team meet one at a time. */
export const lockTeamSubmissions = (c: Q, teamId: string) => c.query(`SELECT pg_advisory_xact_lock(hashtext('queued-trials'), hashtext($1))`, [teamId]);

/**
 * Stores a sweep and its whole, immutable trial plan in one transaction: either both exist or neither does.
 * Trial ids are made here so that they can be enqueued (job id = trial id) right after the commit. The plan
 * goes in as one statement (jsonb_to_recordset), whatever its size.
 */
export async function createSweep(db: Db, s: NewSweep, limits: { maxQueuedTrials?: number } = {}): Promise<CreatedSweep> {
  const sweepId = randomUUID();
  const trials = s.trials.map((t) => ({ ...t, id: randomUUID() }));
  const stored = await inTransaction(db, async (c): Promise<Date | CreatedSweep> => {
    // One submission per team at a time past this point, so two cannot both fit under the waiting quota: the
    // team's own (teams.max_waiting) when an admin set one, else the server-wide default. (It also makes two
    // submissions with one idempotency key meet here one after the other.)
    await lockTeamSubmissions(c, s.teamId);
    if (s.idempotency) {
      const { rows: seen } = await c.query<{ id: string; plan_hash: string; created_at: Date; idempotency_hash: string }>(
        `SELECT id::text, plan_hash, created_at, idempotency_hash FROM sweeps WHERE team_id = $1 AND idempotency_key = $2`,
        [s.teamId, s.idempotency.key],
      );
      const first = seen[0];
      if (first) {
        if (first.idempotency_hash !== s.idempotency.requestHash) {
          throw new ConflictError(`Idempotency-Key ${s.idempotency.key} was sent before with another request (sweep ${first.id}): use a new key for a new sweep`);
        }
        const { rows: planned } = await c.query<{ id: string; position: number; key: string }>(
          `SELECT id::text, position, key FROM trials WHERE sweep_id = $1 AND stage = 'search' ORDER BY position`,
          [first.id],
        );
        return { id: first.id, planHash: first.plan_hash, createdAt: first.created_at, trials: planned, replayed: true };
      }
    }
    await assertWaitingRoom(c, s.teamId, trials.length, "this sweep", limits.maxQueuedTrials);
    const { rows } = await c.query<{ created_at: Date }>(
      `INSERT INTO sweeps (id, team_id, dataset_id, dataset_version_id, name, scenario_key, scenario, preset, spec, seed, plan_hash, trial_count, priority,
                           idempotency_key, idempotency_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb, $10, $11, $12, $13, $14, $15) RETURNING created_at`,
      [sweepId, s.teamId, s.datasetId, s.datasetVersionId, s.name ?? null, s.scenarioKey, JSON.stringify(s.scenario), s.preset, JSON.stringify(s.spec), s.seed, s.planHash, trials.length, s.priority ?? 0,
        s.idempotency?.key ?? null, s.idempotency?.requestHash ?? null],
    );
    await c.query(
      `INSERT INTO trials (id, sweep_id, team_id, dataset_id, scenario_key, task, position, key, architecture, learning_rate, augmentations, stage, spec)
       SELECT x.id, $2, $3, $4, $5, $6, x.position, x.key, x.architecture, x.learning_rate, x.augmentations, x.stage::trial_stage, x.spec
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, position int, key text, architecture text, learning_rate float8, augmentations text[], stage text, spec jsonb)`,
      [
        JSON.stringify(trials.map((t) => ({ id: t.id, position: t.position, key: t.key, architecture: t.architecture, learning_rate: t.learningRate, augmentations: t.augmentations, stage: t.stage, spec: t.spec }))),
        sweepId, s.teamId, s.datasetId, s.scenarioKey, s.task,
      ],
    );
    await c.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [JSON.stringify({ type: "sweep.created", teamId: s.teamId, sweepId, trials: trials.length })]);
    return rows[0].created_at;
  });
  if (!(stored instanceof Date)) return stored;
  return { id: sweepId, planHash: s.planHash, createdAt: stored, trials: trials.map((t) => ({ id: t.id, position: t.position, key: t.key })) };
}

const TRIAL_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
type TrialStatusName = (typeof TRIAL_STATUSES)[number];

export interface SweepView {
  id: string;
  name: string | null;
  status: string;
  datasetId: string;
  datasetVersionId: string;
  scenarioKey: string;
  scenario: unknown;
  preset: string;
  spec: unknown;
  seed: number;
  planHash: string;
  trialCount: number;
  /** The trainer that trains every trial of the sweep. */
  trainer: string;
  /** Within its team, higher runs first (changeable while the sweep waits or runs). */
  priority: number;
  counts: Record<TrialStatusName, number>;
  /** Both stages (epochs across them, final trainings not yet queued included). */
  progress: { epochsDone: number; epochsPlanned: number; fraction: number };
  /** The search and the final stage apart. */
  stages: SweepStages;
  etaSeconds: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelledAt: Date | null;
  /** Why the sweep failed (each architecture whose final training failed for good, and why), else null. */
  error: string | null;
}

function sweepSelect() {
  return {
    id: true, name: true, status: true, datasetId: true, datasetVersionId: true, scenarioKey: true, scenario: true,
    preset: true, spec: true, seed: true, planHash: true, trialCount: true, priority: true, createdAt: true, startedAt: true,
    finishedAt: true, cancelledAt: true, error: true,
  } as const;
}

export async function getSweep(db: Db, teamId: string, id: string): Promise<SweepView> {
  const sweep = await db.sweep.findFirst({ where: { id, teamId }, select: sweepSelect() });
  if (!sweep) throw new NotFoundError("sweep", id);
  const rows = await db.$queryRaw<Array<{ status: TrialStatusName; n: number; epochs_done: number; epochs_planned: number }>>`
    SELECT status::text AS status, count(*)::int AS n, coalesce(sum(epochs_done), 0)::int AS epochs_done,
           coalesce(sum((spec->>'epochs')::int), 0)::int AS epochs_planned
    FROM trials WHERE sweep_id = ${id}::uuid AND stage <> 'evaluate' GROUP BY status`;
  const counts = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as Record<TrialStatusName, number>;
  let epochsDone = 0;
  let epochsPlanned = 0;
  for (const r of rows) {
    counts[r.status] = r.n;
    epochsPlanned += r.epochs_planned;
    // A finished trial counts whole (early stopping and failures end a trial before its planned epochs).
    epochsDone += r.status === "queued" || r.status === "running" ? r.epochs_done : r.epochs_planned;
  }
  const stages = await sweepStages(db, id, sweep.spec as { final?: boolean; finalEpochs?: number });
  // Both stages, final trainings about to be queued included.
  epochsPlanned = stages.search.progress.epochsPlanned + stages.final.progress.epochsPlanned;
  epochsDone = stages.search.progress.epochsDone + stages.final.progress.epochsDone;
  const remaining = counts.queued + counts.running + stages.final.waiting;
  // Each architecture's remaining epochs at its own measured speed (eta.repository.ts).
  const etaSeconds = remaining === 0 ? 0 : estimateEta(await architectureEtas(db, id, sweep.spec as EtaSpec), counts.running);
  return {
    ...sweep,
    // The spec names the trainer only when it is not tfjs (core's sweepTrainer).
    trainer: sweepTrainer(sweep.spec as { trainer?: unknown }),
    counts,
    progress: { epochsDone, epochsPlanned, fraction: epochsPlanned ? epochsDone / epochsPlanned : 0 },
    stages,
    etaSeconds,
  };
}

export async function listSweeps(
  db: Db,
  teamId: string,
  opts: { limit?: number; status?: string } = {},
): Promise<Array<Omit<SweepView, "counts" | "progress" | "stages" | "etaSeconds" | "trainer">>> {
  return db.sweep.findMany({
    where: { teamId, ...(opts.status ? { status: opts.status as never } : {}) },
    orderBy: { createdAt: "desc" },
    take: Math.min(opts.limit ?? 50, 500),
    select: sweepSelect(),
  });
}

const trialSelect = {
  id: true, sweepId: true, position: true, key: true, architecture: true, learningRate: true, augmentations: true,
  stage: true, status: true, attemptCount: true, backend: true, bestEpoch: true, epochsDone: true, valAuc: true,
  valF1: true, valLoss: true, selectionScore: true, metrics: true, error: true, errorReason: true, createdAt: true,
  startedAt: true, finishedAt: true, scenarioKey: true, task: true, stoppedEarlyAt: true,
} as const;

export async function listTrials(db: Db, teamId: string, sweepId: string) {
  const sweep = await db.sweep.findFirst({ where: { id: sweepId, teamId }, select: { id: true } });
  if (!sweep) throw new NotFoundError("sweep", sweepId);
  // Evaluations run as trials of stage evaluate in their model's sweep; they are listed under /v1/evaluations.
  return db.trial.findMany({ where: { sweepId, stage: { not: "evaluate" } }, orderBy: { position: "asc" }, select: trialSelect });
}

/** A float column as JSON: NaN and ±Infinity have no JSON form, so they read as null (as JSON.stringify writes them). */
const finite = (col: string) => `CASE WHEN ${col} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE ${col} END`;
/** A timestamp(3) column (UTC) as JSON.stringify writes a Date: 2026-12-01T14:08:07.123Z. */
const iso = (col: string) => `to_char(${col}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** listTrials' fields as SQL: typed by trialSelect, so a field added there and not here does not compile. */
const trialJsonColumns: { [K in keyof typeof trialSelect]: string } = {
  id: "t.id", sweepId: "t.sweep_id", position: "t.position", key: "t.key", architecture: "t.architecture",
  learningRate: finite("t.learning_rate"), augmentations: "t.augmentations", stage: "t.stage", status: "t.status",
  attemptCount: "t.attempt_count", backend: "t.backend", bestEpoch: "t.best_epoch", epochsDone: "t.epochs_done",
  valAuc: finite("t.val_auc"), valF1: finite("t.val_f1"), valLoss: finite("t.val_loss"), selectionScore: finite("t.selection_score"),
  metrics: "t.metrics", error: "t.error", errorReason: "t.error_reason", createdAt: iso("t.created_at"), startedAt: iso("t.started_at"),
  finishedAt: iso("t.finished_at"), scenarioKey: "t.scenario_key", task: "t.task", stoppedEarlyAt: "t.stopped_early_at",
};
const TRIAL_JSON_SELECT = Object.entries(trialJsonColumns).map(([field, sql]) => `${sql} AS "${field}"`).join(", ");

/**
 * listTrials() as the JSON text of `{ trials: [...] }`, the same fields, values and order, built by Postgres in
 * one statement: for a sweep of 1,000 trials Node then neither decodes rows nor serialises them.
 */
export async function listTrialsJson(db: Db, teamId: string, sweepId: string): Promise<string> {
  const { rows } = await db.pool.query<{ json: string | null }>(
    `SELECT (SELECT json_build_object('trials', coalesce(json_agg(x ORDER BY x.position), '[]'))::text FROM (
       SELECT ${TRIAL_JSON_SELECT} FROM trials t WHERE t.sweep_id = s.id AND t.stage <> 'evaluate') x) AS json
     FROM sweeps s WHERE s.id = $1::uuid AND s.team_id = $2::uuid`,
    [sweepId, teamId],
  );
  if (!rows.length) throw new NotFoundError("sweep", sweepId);
  return rows[0].json ?? '{"trials":[]}';
}

export async function getTrial(db: Db, teamId: string, trialId: string) {
  const trial = await db.trial.findFirst({
    where: { id: trialId, teamId },
    select: {
      ...trialSelect,
      spec: true,
      weightsPath: true,
      epochs: { orderBy: { epoch: "asc" }, select: { epoch: true, attempt: true, trainLoss: true, valLoss: true, valAuc: true, valF1: true, lr: true, durationMs: true, metrics: true, createdAt: true } },
      rungDecisions: { orderBy: { rung: "asc" }, select: { rung: true, continues: true, rank: true, reached: true, kept: true, bestEpoch: true, selectionScore: true, attempt: true, decidedAt: true } },
      attempts: { orderBy: { number: "asc" }, select: { number: true, workerId: true, backend: true, status: true, startedAt: true, heartbeatAt: true, finishedAt: true, resumedFrom: true, error: true, errorReason: true } },
    },
  });
  if (!trial) throw new NotFoundError("trial", trialId);
  return trial;
}

/**
 * Cancels a sweep: queued trials will never start, running ones are marked cancelled at once (their workers see
 * it at the next heartbeat and stop the trainer). Returns the ids of trials whose queued jobs should be removed.
 */
export async function cancelSweep(db: Db, teamId: string, sweepId: string): Promise<{ status: string; trialIds: string[] }> {
  return db.$transaction(async (tx) => {
    const sweep = await tx.sweep.findFirst({ where: { id: sweepId, teamId }, select: { id: true, status: true } });
    if (!sweep) throw new NotFoundError("sweep", sweepId);
    if (sweep.status !== "queued" && sweep.status !== "running") return { status: sweep.status, trialIds: [] };
    const owed = await tx.trial.findMany({ where: { sweepId, status: { in: ["queued", "running"] } }, select: { id: true } });
    const now = new Date();
    await tx.trial.updateMany({
      where: { sweepId, status: { in: ["queued", "running"] } },
      data: { status: "cancelled", finishedAt: now, leaseOwner: null, leaseExpiresAt: null },
    });
    await tx.attempt.updateMany({
      where: { trial: { sweepId }, status: "running" },
      data: { status: "cancelled", finishedAt: now },
    });
    await tx.sweep.update({ where: { id: sweepId }, data: { status: "cancelled", cancelledAt: now, finishedAt: now } });
    await notifyInTx(tx, { type: "sweep.finished", teamId, sweepId, status: "cancelled" });
    return { status: "cancelled", trialIds: owed.map((t) => t.id) };
  });
}
