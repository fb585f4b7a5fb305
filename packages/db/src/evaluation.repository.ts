/**
 * Evaluations (paper, section 4): a final model scored on another test set. An evaluation runs as the `trials`
 * row with the same id and stage 'evaluate', in the sweep of the trial it evaluates: claimTrial, heartbeat,
 * failAttempt, releaseAttempt, the attempts table and the reconciler (owedTrials) are the trials' own, so an
 * evaluation is leased, retried and written exactly once by the same protocol as a training. Only its result
 * statement differs: it writes the evaluation's scores, fenced by the same lease condition, in one statement.
 * Adding an evaluation does not reopen or count towards its sweep (trial_count and the sweep's status stay).
 */
import { inTransaction, type Db } from "./client.ts";
import { LeaseLostError, NotFoundError } from "./errors.ts";
import { EVENTS_CHANNEL } from "./events.ts";
import { finishSweepIfDone } from "./lease.repository.ts";
import { assertWaitingRoom, lockTeamSubmissions } from "./sweep.repository.ts";

export interface NewEvaluation {
  /** The final trial whose model is scored. */
  trialId: string;
  kind: "cross_dataset" | "binarised";
  datasetVersionId: string;
  scenario: Record<string, unknown>;
  selection: Record<string, unknown>;
  images: string[];
  labels: number[];
  compareTrialId?: string | null;
  /** The stored trainer spec of the run (stage evaluate). */
  spec: Record<string, unknown>;
}

/**
 * Stores an evaluation and its run in one transaction. An identical evaluation (same model, kind, dataset
 * version and rows) that has not failed or been cancelled is returned instead (`created: false`).
 */
export async function createEvaluation(db: Db, teamId: string, e: NewEvaluation, limits: { maxQueuedTrials?: number } = {}): Promise<{ id: string; sweepId: string; created: boolean }> {
  return inTransaction(db, async (c) => {
    // An evaluation is a trial that waits like a sweep's: it counts against the team's waiting quota.
    await lockTeamSubmissions(c, teamId);
    const src = await c.query<{ sweep_id: string }>(
      `SELECT t.sweep_id::text FROM trials t JOIN sweeps s ON s.id = t.sweep_id WHERE t.id = $1 AND t.team_id = $2 FOR UPDATE OF s`,
      [e.trialId, teamId],
    );
    if (!src.rows[0]) throw new NotFoundError("trial", e.trialId);
    const sweepId = src.rows[0].sweep_id;
    const same = await c.query<{ id: string }>(
      `SELECT ev.id::text FROM evaluations ev JOIN trials r ON r.id = ev.id
       WHERE ev.team_id = $1 AND ev.trial_id = $2 AND ev.kind = $3 AND ev.dataset_version_id = $4 AND ev.images = $5::text[]
         AND ev.labels = $6::int[] AND ev.compare_trial_id IS NOT DISTINCT FROM $7::uuid AND r.status NOT IN ('failed', 'cancelled')
       ORDER BY ev.created_at LIMIT 1`,
      [teamId, e.trialId, e.kind, e.datasetVersionId, e.images, e.labels, e.compareTrialId ?? null],
    );
    if (same.rows[0]) return { id: same.rows[0].id, sweepId, created: false };
    await assertWaitingRoom(c, teamId, 1, "this evaluation", limits.maxQueuedTrials);
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO trials (id, sweep_id, team_id, dataset_id, scenario_key, task, position, key, architecture, learning_rate, augmentations, stage, spec)
       SELECT gen_random_uuid(), s.sweep_id, s.team_id, s.dataset_id, s.scenario_key, s.task,
              (SELECT max(position) + 1 FROM trials WHERE sweep_id = s.sweep_id), s.key || '/evaluate', s.architecture, s.learning_rate,
              s.augmentations, 'evaluate', $2::jsonb
       FROM trials s WHERE s.id = $1
       RETURNING id::text`,
      [e.trialId, JSON.stringify(e.spec)],
    );
    const id = rows[0]!.id;
    await c.query(
      `INSERT INTO evaluations (id, team_id, trial_id, kind, dataset_version_id, scenario, selection, images, labels, compare_trial_id)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::text[], $9::int[], $10)`,
      [id, teamId, e.trialId, e.kind, e.datasetVersionId, JSON.stringify(e.scenario), JSON.stringify(e.selection), e.images, e.labels, e.compareTrialId ?? null],
    );
    return { id, sweepId, created: true };
  });
}

/** A team's trial with what an evaluation of its model needs (its sweep's scenario and dataset version), or null. */
export async function evaluationSourceTrial(db: Db, teamId: string, trialId: string) {
  return db.trial.findFirst({
    where: { id: trialId, teamId },
    select: {
      id: true, stage: true, status: true, task: true, architecture: true, bestEpoch: true, weightsPath: true, spec: true, datasetId: true,
      sweep: { select: { scenario: true, datasetVersionId: true, datasetVersion: { select: { manifest: true, storagePath: true } } } },
    },
  });
}

/** The team's succeeded multiclass final trials of an architecture on a dataset version, newest first. */
export async function multiclassFinalTrials(db: Db, teamId: string, architecture: string, datasetVersionId: string) {
  return db.trial.findMany({
    where: { teamId, stage: "final", status: "succeeded", task: "multiclass", architecture, sweep: { datasetVersionId } },
    orderBy: { finishedAt: "desc" },
    select: { id: true, sweep: { select: { scenario: true } } },
  });
}

/** Where an evaluation's rows come from (the worker builds the trainer's data from it). */
export interface EvaluationTarget {
  datasetVersionId: string;
  storagePath: string;
  scenario: Record<string, unknown>;
  images: string[];
  labels: number[];
  /** Binarised: the multiclass trial compared with. */
  compareTrialId: string | null;
}

export async function evaluationTarget(db: Db, id: string): Promise<EvaluationTarget | null> {
  const { rows } = await db.pool.query<EvaluationTarget>(
    `SELECT ev.dataset_version_id::text AS "datasetVersionId", v.storage_path AS "storagePath", ev.scenario, ev.images, ev.labels,
            ev.compare_trial_id::text AS "compareTrialId"
     FROM evaluations ev JOIN dataset_versions v ON v.id = ev.dataset_version_id WHERE ev.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export interface EvaluationOutcome {
  /** Metrics, confusion matrix, intervals (and the binarised comparison), as scored by the worker. */
  result: Record<string, unknown>;
  backend?: string;
}

/**
 * Records an evaluation's result once, in one statement with its run's and attempt's end and the event; only
 * the attempt that holds the lease may (the same fence as recordResult). Throws LeaseLostError otherwise.
 * Its predictions are the run's trial_predictions (split test), written before by recordPredictions.
 */
export async function recordEvaluationResult(db: Db, id: string, attempt: number, r: EvaluationOutcome): Promise<void> {
  const { rows } = await db.pool.query<{ n: number; sweep_id: string; team_id: string }>(
    `WITH t AS (
       UPDATE trials SET status = 'succeeded', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, error = NULL,
         error_reason = NULL, backend = COALESCE($4, backend), metrics = $3::jsonb
       WHERE id = $1 AND current_attempt = $2 AND status = 'running' AND stage = 'evaluate'
       RETURNING id, sweep_id, team_id),
     a AS (UPDATE attempts SET status = 'succeeded', finished_at = now(), backend = COALESCE($4, backend)
           WHERE trial_id IN (SELECT id FROM t) AND number = $2 RETURNING id),
     ev AS (UPDATE evaluations SET result = $3::jsonb, finished_at = now()
            WHERE id IN (SELECT id FROM t) RETURNING id),
     note AS (
       SELECT pg_notify('${EVENTS_CHANNEL}', json_build_object('type', 'trial.finished', 'teamId', team_id, 'sweepId', sweep_id,
         'trialId', id, 'status', 'succeeded')::text) FROM t)
     SELECT (SELECT count(*) FROM ev)::int + 0 * (SELECT count(*) FROM a)::int + 0 * (SELECT count(*) FROM note)::int AS n,
            (SELECT sweep_id::text FROM t) AS sweep_id, (SELECT team_id::text FROM t) AS team_id`,
    [id, attempt, JSON.stringify(r.result), r.backend ?? null],
  );
  const r0 = rows[0];
  if (!r0 || r0.n === 0) throw new LeaseLostError(id, attempt);
  // A sweep still running its final stage may have waited on this evaluation: end it if nothing else is owed.
  await inTransaction(db, (c) => finishSweepIfDone(c, r0.sweep_id, r0.team_id));
}

const VIEW = `SELECT ev.id::text, ev.trial_id::text AS "trialId", ev.kind, ev.dataset_version_id::text AS "datasetVersionId",
       d.name AS "dataset", ev.scenario, ev.selection, ev.compare_trial_id::text AS "compareTrialId", ev.result,
       cardinality(ev.images) AS "images", r.status::text AS status, r.attempt_count AS "attempts", r.backend, r.error,
       r.error_reason AS "errorReason", ev.created_at AS "createdAt", r.started_at AS "startedAt", ev.finished_at AS "finishedAt",
       src.architecture, src.scenario_key AS "scenarioKey", src.sweep_id::text AS "sweepId"
     FROM evaluations ev JOIN trials r ON r.id = ev.id JOIN trials src ON src.id = ev.trial_id
       JOIN dataset_versions v ON v.id = ev.dataset_version_id JOIN datasets d ON d.id = v.dataset_id`;

export interface EvaluationView {
  id: string;
  trialId: string;
  kind: string;
  datasetVersionId: string;
  dataset: string;
  scenario: Record<string, unknown>;
  selection: Record<string, unknown>;
  compareTrialId: string | null;
  result: Record<string, unknown> | null;
  images: number;
  status: string;
  attempts: number;
  backend: string | null;
  error: string | null;
  errorReason: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  architecture: string;
  scenarioKey: string;
  sweepId: string;
}

export async function getEvaluation(db: Db, teamId: string, id: string): Promise<EvaluationView> {
  const { rows } = await db.pool.query<EvaluationView>(`${VIEW} WHERE ev.id = $1 AND ev.team_id = $2`, [id, teamId]);
  if (!rows[0]) throw new NotFoundError("evaluation", id);
  return rows[0];
}

export async function listEvaluations(db: Db, teamId: string, filter: { trialId?: string; limit?: number } = {}): Promise<EvaluationView[]> {
  const { rows } = await db.pool.query<EvaluationView>(
    `${VIEW} WHERE ev.team_id = $1 AND ($2::uuid IS NULL OR ev.trial_id = $2::uuid) ORDER BY ev.created_at DESC LIMIT $3`,
    [teamId, filter.trialId ?? null, filter.limit ?? 200],
  );
  return rows;
}
