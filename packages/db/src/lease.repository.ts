/**
 * The worker's side of the exactly-once protocol. Delivery is at-least-once (BullMQ can hand a trial to two
 * workers); results are exactly-once because every write names its attempt, and only the attempt that holds
 * the lease (trials.current_attempt, status running) may write. Invariants:
 *  - a trial's attempt numbers only grow; each attempt row is written once and then only finished;
 *  - an epoch row is keyed by (trial, epoch): a resumed or retried attempt overwrites, never duplicates;
 *  - the result is written once, in one transaction with the attempt's end and, when it is the last trial,
 *    the sweep's end (serialised per sweep by an advisory lock, so the last of two concurrent finishers sees
 *    the other's commit).
 * These statements run on every trial and epoch, so they go straight to node-postgres (see client.ts).
 */
import type pg from "pg";
import { isRetryableReason, type EpochRecord } from "@hypersweep/core";
import { inTransaction, type Db } from "./client.ts";
import { LeaseLostError } from "./errors.ts";
import { EVENTS_CHANNEL, type SweepEvent } from "./events.ts";
import { OWES_FINAL } from "./final-stage.repository.ts";
import { judgeNode, type QuarantinePolicy } from "./quarantine.repository.ts";

type Q = Pick<pg.PoolClient, "query">;

export interface ClaimedTrial {
  trialId: string;
  sweepId: string;
  teamId: string;
  attempt: number;
  /** Epochs already recorded (a retried attempt resumes from its checkpoint). */
  epochsDone: number;
  architecture: string;
  task: string;
  spec: Record<string, unknown>;
  sweepSeed: number;
  scenario: Record<string, unknown>;
  datasetVersionId: string;
  datasetStoragePath: string;
  /** The trainer that runs the trial (its sweep's). @defaultValue "tfjs" */
  trainer?: string;
}

export type ClaimOutcome =
  | { kind: "claimed"; trial: ClaimedTrial }
  /** The trial needs a trainer this worker does not run: leave it to a worker that runs it. */
  | { kind: "elsewhere"; trainer: string }
  /** Another attempt holds a live lease until `until`: look again then. */
  | { kind: "held"; until: Date }
  /** Nothing to do: the trial is finished (succeeded, failed, cancelled) or gone. */
  | { kind: "done"; status: string };

export interface LeaseOptions {
  /** How long a lease lives without a heartbeat, ms. */
  leaseMs: number;
  /** Attempts before a trial fails for good. */
  maxAttempts: number;
  /** The trainers this worker runs: it claims only trials of these. @defaultValue ["tfjs"] */
  trainers?: readonly string[];
}

/**
 * A named (prepared) statement: planned once per connection, not on every call. These run on every trial and
 * epoch, and planning their CTEs cost Postgres more CPU than executing them.
 */
function named(name: string, text: string, values: unknown[]): pg.QueryConfig {
  return { name, text, values };
}

async function notify(c: Q, e: SweepEvent): Promise<void> {
  await c.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [JSON.stringify(e)]);
}

interface LockedTrial {
  status: string;
  attempt_count: number;
  current_attempt: number | null;
  lease_live: boolean;
  lease_expires_at: Date | null;
  sweep_id: string;
  team_id: string;
  error: string | null;
  epochs_done: number;
  trainer: string;
}

const trainersOf = (opts: LeaseOptions): string[] => (opts.trainers?.length ? [...opts.trainers] : ["tfjs"]);

/**
 * Opens a new attempt on a trial that is queued, or running under an expired lease, in one statement (the
 * UPDATE's row lock makes it atomic against a second delivery). When nothing is claimed, a second look says
 * why: another live attempt holds it, it is finished, or it has used up its attempts (then it fails for good).
 */
export async function claimTrial(db: Db, trialId: string, workerId: string, opts: LeaseOptions): Promise<ClaimOutcome> {
  const { rows } = await db.pool.query(
    named("hs_claim", `WITH prev AS (
       SELECT id, status, current_attempt FROM trials WHERE id = $1),
     t AS (
       UPDATE trials SET status = 'running', attempt_count = attempt_count + 1, current_attempt = attempt_count + 1,
                         lease_owner = $2, lease_expires_at = now() + $3::int * interval '1 millisecond',
                         started_at = COALESCE(started_at, clock_timestamp())
       WHERE id = $1 AND attempt_count - excused_attempts < $4 AND trainer = ANY($5::text[])
         AND (status = 'queued' OR (status = 'running' AND lease_expires_at <= now()))
       RETURNING id, sweep_id, team_id, attempt_count, architecture, task, spec, epochs_done, stage, trainer),
     lost AS (
       UPDATE attempts SET status = 'lost', finished_at = now(), error = 'lease expired: the worker stopped heartbeating',
                           error_reason = 'lease_expired'
       WHERE trial_id IN (SELECT id FROM t) AND status = 'running'
         AND number = (SELECT current_attempt FROM prev WHERE status = 'running')
       RETURNING id),
     a AS (
       -- Stamped after this statement's snapshot (as the fair claim's are): see fair-claim.repository.ts.
       INSERT INTO attempts (id, trial_id, number, worker_id, resumed_from, started_at)
       SELECT gen_random_uuid(), id, attempt_count, $2, NULLIF(epochs_done, 0), clock_timestamp() FROM t RETURNING id),
     s AS (
       UPDATE sweeps SET status = 'running', started_at = now()
       WHERE id IN (SELECT sweep_id FROM t) AND status = 'queued' RETURNING id),
     note AS (
       SELECT pg_notify('${EVENTS_CHANNEL}', json_build_object('type', 'trial.started', 'teamId', team_id, 'sweepId', sweep_id,
         'trialId', id, 'attempt', attempt_count, 'workerId', $2::text, 'stage', stage)::text) FROM t)
     SELECT t.sweep_id::text, t.team_id::text, t.attempt_count, t.architecture, t.task, t.spec, t.epochs_done, t.trainer,
            sw.seed, sw.scenario, v.id::text AS version_id, v.storage_path,
            (SELECT count(*) FROM a)::int + (SELECT count(*) FROM lost)::int * 0 + (SELECT count(*) FROM s)::int * 0
              + (SELECT count(*) FROM note)::int * 0 AS opened
     FROM t JOIN sweeps sw ON sw.id = t.sweep_id JOIN dataset_versions v ON v.id = sw.dataset_version_id`, [trialId, workerId, opts.leaseMs, opts.maxAttempts, trainersOf(opts)]),
  );
  const r = rows[0];
  if (r) {
    return {
      kind: "claimed",
      trial: {
        trialId, sweepId: r.sweep_id, teamId: r.team_id, attempt: r.attempt_count, epochsDone: r.epochs_done, architecture: r.architecture,
        task: r.task, spec: r.spec, sweepSeed: r.seed, scenario: r.scenario, datasetVersionId: r.version_id, datasetStoragePath: r.storage_path,
        trainer: r.trainer,
      },
    };
  }
  return whyNotClaimed(db, trialId, opts);
}

async function whyNotClaimed(db: Db, trialId: string, opts: LeaseOptions): Promise<ClaimOutcome> {
  return inTransaction(db, async (c) => {
    const { rows } = await c.query<LockedTrial>(
      `SELECT status::text, attempt_count, current_attempt, lease_expires_at, lease_expires_at > now() AS lease_live,
              sweep_id::text, team_id::text, error, epochs_done, trainer
       FROM trials WHERE id = $1 FOR UPDATE`,
      [trialId],
    );
    const t = rows[0];
    if (!t) return { kind: "done", status: "missing" } as const;
    if (t.status !== "queued" && t.status !== "running") return { kind: "done", status: t.status } as const;
    if (t.status === "running" && t.lease_live) return { kind: "held", until: t.lease_expires_at! } as const;
    if (!trainersOf(opts).includes(t.trainer)) return { kind: "elsewhere", trainer: t.trainer } as const;
    // Queued or expired, and out of attempts: the trial fails for good.
    if (t.status === "running" && t.current_attempt != null) {
      await c.query(
        `UPDATE attempts SET status = 'lost', finished_at = now(), error = 'lease expired: the worker stopped heartbeating', error_reason = 'lease_expired'
         WHERE trial_id = $1 AND number = $2 AND status = 'running'`,
        [trialId, t.current_attempt],
      );
    }
    const error = `gave up after ${t.attempt_count} attempts${t.error ? `; last error: ${t.error}` : ""}`;
    await c.query(
      `UPDATE trials SET status = 'failed', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, error = $2,
                         error_reason = COALESCE(error_reason, 'lease_expired') WHERE id = $1`,
      [trialId, error],
    );
    await notify(c, { type: "trial.finished", teamId: t.team_id, sweepId: t.sweep_id, trialId, status: "failed", error });
    await finishSweepIfDone(c, t.sweep_id, t.team_id);
    void opts;
    return { kind: "done", status: "failed" } as const;
  });
}

/**
 * Renews the lease. False when this attempt no longer holds it (cancelled, or taken over): stop the trainer.
 * Progress (Db.progressPool): a renewal lost to a Postgres crash only shortens the lease, and every write is fenced.
 */
export async function heartbeat(db: Db, trialId: string, attempt: number, leaseMs: number): Promise<boolean> {
  const { rows } = await db.progressPool.query<{ n: number }>(
    named("hs_heartbeat", `WITH t AS (
       UPDATE trials SET lease_expires_at = now() + $3::int * interval '1 millisecond'
       WHERE id = $1 AND current_attempt = $2 AND status = 'running' RETURNING id),
     a AS (UPDATE attempts SET heartbeat_at = now() WHERE trial_id IN (SELECT id FROM t) AND number = $2 RETURNING id)
     SELECT (SELECT count(*) FROM t)::int + 0 * (SELECT count(*) FROM a)::int AS n`, [trialId, attempt, leaseMs]),
  );
  return (rows[0]?.n ?? 0) > 0;
}

/**
 * What the trainer reported when it started: its backend and the epoch it resumed from. Progress, like epochs
 * (Db.progressPool): the result re-asserts the backend durably.
 */
export async function markAttemptStarted(db: Db, trialId: string, attempt: number, info: { backend: string; resumedFromEpoch?: number }): Promise<void> {
  await db.progressPool.query(
    named("hs_attempt_started", `WITH a AS (UPDATE attempts SET backend = $3, resumed_from = $4 WHERE trial_id = $1 AND number = $2 RETURNING id)
     UPDATE trials SET backend = $3 WHERE id = $1 AND current_attempt = $2 AND status = 'running' AND EXISTS (SELECT 1 FROM a)`, [trialId, attempt, info.backend, info.resumedFromEpoch ?? null]),
  );
}

export type { EpochRecord } from "@hypersweep/core";

/**
 * Writes one epoch (and renews the lease) in a single statement, only if `attempt` holds the lease; the event
 * is sent by the same statement. A retried attempt that redoes an epoch overwrites it. Throws LeaseLostError.
 * Progress: committed without waiting for the WAL flush (see Db.progressPool); recordResult re-asserts it.
 */
export async function recordEpoch(db: Db, trialId: string, attempt: number, e: EpochRecord, leaseMs: number): Promise<void> {
  const auc = e.metrics.auc ?? null;
  const f1 = e.metrics.f1 ?? null;
  const { rows } = await db.progressPool.query<{ written: number }>(
    named("hs_record_epoch", `WITH lease AS (
       UPDATE trials SET epochs_done = GREATEST(epochs_done, $3::int), lease_expires_at = now() + $11::int * interval '1 millisecond'
       WHERE id = $1 AND current_attempt = $2 AND status = 'running'
       RETURNING id, sweep_id, team_id),
     ins AS (
       INSERT INTO epochs (trial_id, attempt, epoch, train_loss, val_loss, val_auc, val_f1, lr, duration_ms, metrics)
       SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb FROM lease
       ON CONFLICT (trial_id, epoch) DO UPDATE SET attempt = EXCLUDED.attempt, train_loss = EXCLUDED.train_loss,
         val_loss = EXCLUDED.val_loss, val_auc = EXCLUDED.val_auc, val_f1 = EXCLUDED.val_f1, lr = EXCLUDED.lr,
         duration_ms = EXCLUDED.duration_ms, metrics = EXCLUDED.metrics, created_at = now()
       RETURNING trial_id),
     note AS (
       SELECT pg_notify('${EVENTS_CHANNEL}', json_build_object('type', 'epoch.done', 'teamId', team_id, 'sweepId', sweep_id,
         'trialId', id, 'epoch', $3::int, 'valLoss', $5::float8, 'valAuc', $6::float8, 'valF1', $7::float8)::text)
       FROM lease)
     SELECT (SELECT count(*) FROM ins)::int + 0 * (SELECT count(*) FROM note)::int AS written`, [trialId, attempt, e.epoch, e.trainLoss, e.valLoss, auc, f1, e.lr, Math.round(e.durationMs), JSON.stringify(e.metrics), leaseMs]),
  );
  if ((rows[0]?.written ?? 0) === 0) throw new LeaseLostError(trialId, attempt);
}

export interface TrialResult {
  bestEpoch: number;
  metrics: Record<string, unknown>;
  valAuc: number | null;
  valF1: number | null;
  valLoss: number | null;
  selectionScore: number | null;
  tiebreakScore: number | null;
  weightsPath?: string;
  /** Every epoch this attempt reported (replayed ones included): written again, durably, with the result. */
  epochs?: EpochRecord[];
  /** The backend the trainer reported (re-asserted with the result). */
  backend?: string;
}

/** What recording a result tells the caller. */
export interface ResultRecorded {
  /**
   * The final stage may now be owed (this was one of the last search trials of its architecture, in a sweep that
   * trains its winners): look (ensureFinalStage). False when it cannot be: more than END_CHECK_WINDOW search
   * trials of the architecture are still owed, the trial is no search trial, or the sweep has no final stage.
   */
  finalStageDue: boolean;
  sweepId: string;
}

/**
 * Records the result once, in one statement with the attempt's end and its event. Throws LeaseLostError when
 * `attempt` no longer holds the lease. When few trials of the sweep are left, ends the sweep if it was the last.
 */
export async function recordResult(db: Db, trialId: string, attempt: number, r: TrialResult): Promise<ResultRecorded> {
  const { rows } = await db.pool.query<{ sweep_id: string; team_id: string; others: number; final_due: boolean }>(
    named("hs_record_result", `WITH t AS (
       UPDATE trials SET status = 'succeeded', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
         best_epoch = $3, val_auc = $4, val_f1 = $5, val_loss = $6, selection_score = $7, tiebreak_score = $8,
         metrics = $9::jsonb, weights_path = $10, error = NULL, error_reason = NULL, backend = COALESCE($12, backend)
       WHERE id = $1 AND current_attempt = $2 AND status = 'running'
       RETURNING id, sweep_id, team_id, stage, architecture),
     a AS (UPDATE attempts SET status = 'succeeded', finished_at = now(), backend = COALESCE($12, backend)
           WHERE trial_id IN (SELECT id FROM t) AND number = $2 RETURNING id),
     ep AS (
       INSERT INTO epochs (trial_id, attempt, epoch, train_loss, val_loss, val_auc, val_f1, lr, duration_ms, metrics)
       SELECT t.id, $2, e.epoch, e."trainLoss", e."valLoss", (e.metrics->>'auc')::float8, (e.metrics->>'f1')::float8, e.lr,
              round(e."durationMs")::int, e.metrics
       FROM t, jsonb_to_recordset($11::jsonb) AS e(epoch int, "trainLoss" float8, "valLoss" float8, lr float8, "durationMs" float8, metrics jsonb)
       ON CONFLICT (trial_id, epoch) DO NOTHING
       RETURNING trial_id),
     note AS (
       SELECT pg_notify('${EVENTS_CHANNEL}', json_build_object('type', 'trial.finished', 'teamId', team_id, 'sweepId', sweep_id,
         'trialId', id, 'status', 'succeeded', 'selectionScore', $7::float8, 'stage', stage)::text) FROM t)
     SELECT t.sweep_id::text, t.team_id::text,
            (SELECT count(*) FROM trials o WHERE o.sweep_id = t.sweep_id AND o.status IN ('queued', 'running') AND o.id <> t.id)::int
              + (SELECT count(*) FROM a)::int * 0 + (SELECT count(*) FROM note)::int * 0 + (SELECT count(*) FROM ep)::int * 0 AS others,
            t.stage = 'search' AND (SELECT COALESCE(spec->>'final', 'true') <> 'false' FROM sweeps WHERE id = t.sweep_id)
              AND (SELECT count(*) FROM trials o WHERE o.sweep_id = t.sweep_id AND o.stage = 'search' AND o.architecture = t.architecture
                     AND o.status IN ('queued', 'running') AND o.id <> t.id) <= ${END_CHECK_WINDOW} AS final_due
     FROM t`, [trialId, attempt, r.bestEpoch, r.valAuc, r.valF1, r.valLoss, r.selectionScore, r.tiebreakScore, JSON.stringify(r.metrics), r.weightsPath ?? null, JSON.stringify(r.epochs ?? []), r.backend ?? null]),
  );
  const t = rows[0];
  if (!t) throw new LeaseLostError(trialId, attempt);
  // Trials finishing at the same moment see each other as still running; under the sweep's lock the last of
  // them sees the others' commits. Far from the end there is nothing to check (the reconciler is the safety net).
  if (t.others <= END_CHECK_WINDOW) await inTransaction(db, (c) => finishSweepIfDone(c, t.sweep_id, t.team_id));
  return { finalStageDue: t.final_due, sweepId: t.sweep_id };
}

/**
 * With more than this many other trials still owed, this one cannot be among the sweep's last finishers unless
 * that many trials finish at the same instant; if they ever do, the reconciler ends the sweep on its next pass.
 */
const END_CHECK_WINDOW = 16;

/**
 * Ends an attempt that failed. The trial goes back to `queued` for another attempt while attempts remain, else
 * it fails for good. Returns whether it will be retried. Throws LeaseLostError when the lease was lost.
 * With a quarantine policy, a failure for reasons of the node also judges the worker that ran it, in this
 * transaction (see judgeNode): when it is quarantined, `quarantined` says why and until when, the attempts that
 * decided it no longer count towards their trials' maximum, and `requeued` lists trials owed a run again.
 */
export async function failAttempt(
  db: Db,
  trialId: string,
  attempt: number,
  f: { reason: string; message: string; maxAttempts: number; retryable?: boolean; quarantine?: QuarantinePolicy },
): Promise<{ retry: boolean; quarantined?: { reason: string; until: Date }; requeued?: Array<{ trialId: string; sweepId: string }> }> {
  return inTransaction(db, async (c) => {
    const { rows } = await c.query<{ sweep_id: string; team_id: string; attempt_count: number }>(
      `SELECT sweep_id::text, team_id::text, attempt_count FROM trials
       WHERE id = $1 AND current_attempt = $2 AND status = 'running' FOR UPDATE`,
      [trialId, attempt],
    );
    const t = rows[0];
    if (!t) throw new LeaseLostError(trialId, attempt);
    const message = f.message.slice(0, 4000);
    const { rows: ended } = await c.query<{ worker_id: string }>(
      `UPDATE attempts SET status = 'failed', finished_at = now(), error = $3, error_reason = $4 WHERE trial_id = $1 AND number = $2 RETURNING worker_id`,
      [trialId, attempt, message, f.reason],
    );
    const verdict = ended[0] ? await judgeNode(c, ended[0].worker_id, f.reason, f.quarantine, f.maxAttempts, { trialId, number: attempt }) : { requeued: [] };
    const { rows: counted } = await c.query<{ used: number }>(`SELECT attempt_count - excused_attempts AS used FROM trials WHERE id = $1`, [trialId]);
    // A diverged run diverges again (its seed is fixed by the plan), and a bad spec stays bad: no retry.
    const retry = (f.retryable ?? true) && isRetryableReason(f.reason) && counted[0].used < f.maxAttempts;
    await c.query(
      `UPDATE trials SET status = $2::trial_status, finished_at = CASE WHEN $2 = 'failed' THEN now() END, lease_owner = NULL,
                         lease_expires_at = NULL, error = $3, error_reason = $4 WHERE id = $1`,
      [trialId, retry ? "queued" : "failed", message, f.reason],
    );
    if (!retry) {
      await notify(c, { type: "trial.finished", teamId: t.team_id, sweepId: t.sweep_id, trialId, status: "failed", error: message });
      await finishSweepIfDone(c, t.sweep_id, t.team_id);
    }
    return verdict.quarantined ? { retry, quarantined: verdict.quarantined, requeued: verdict.requeued } : { retry };
  });
}

/** Hands a trial back (graceful shutdown): the attempt ends as lost and the trial is queued again. */
export async function releaseAttempt(db: Db, trialId: string, attempt: number, why: string): Promise<boolean> {
  return inTransaction(db, async (c) => {
    const { rowCount } = await c.query(
      `UPDATE trials SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND current_attempt = $2 AND status = 'running'`,
      [trialId, attempt],
    );
    if (!rowCount) return false;
    await c.query(`UPDATE attempts SET status = 'lost', finished_at = now(), error = $3, error_reason = 'released' WHERE trial_id = $1 AND number = $2`, [trialId, attempt, why]);
    return true;
  });
}

/**
 * Why a finished sweep failed, in words (SQL, over the sweep $1), or null when it succeeded: every final
 * training that failed for good (its architecture, reason and error), every architecture whose search ended
 * without a winner, or no trial succeeded at all. A sweep delivers each architecture's model: one that cannot
 * is a failed sweep, whatever the others did.
 */
const FAILURE = `(SELECT CASE
    WHEN NOT EXISTS (SELECT 1 FROM trials WHERE sweep_id = $1 AND status = 'succeeded') THEN 'no trial succeeded'
    ELSE (SELECT string_agg(why, '; ' ORDER BY architecture, kind) FROM (
      SELECT f.architecture, 1 AS kind, format('final training of %s failed%s: %s', f.architecture,
               CASE WHEN f.error_reason IS NULL THEN '' ELSE format(' (%s)', f.error_reason) END,
               COALESCE(left(f.error, 500), 'no error recorded')) AS why
      FROM trials f WHERE f.sweep_id = $1 AND f.stage = 'final' AND f.status = 'failed'
      UNION ALL
      SELECT w.architecture, 0, format('search of %s ended without a winner (no succeeded trial with a score)', w.architecture)
      FROM trials w WHERE w.sweep_id = $1 AND w.stage = 'search' GROUP BY w.architecture
      HAVING NOT bool_or(w.status = 'succeeded' AND w.selection_score IS NOT NULL)) reasons)
  END)`;

/**
 * Marks a sweep finished when no trial is owed any more and no final training is owed either (OWES_FINAL: the
 * final stage of an architecture whose search just ended is about to be queued): succeeded when every
 * architecture delivered (its search has a winner, and its final training, when there is one, succeeded), else
 * failed with `error` saying why (FAILURE). Serialised per sweep (advisory lock) so that concurrent last trials
 * cannot both miss the end.
 */
export async function finishSweepIfDone(c: Q, sweepId: string, teamId: string): Promise<string | null> {
  await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [sweepId]);
  const { rows } = await c.query<{ status: string; error: string | null }>(
    `UPDATE sweeps SET status = CASE WHEN v.error IS NULL THEN 'succeeded'::sweep_status ELSE 'failed'::sweep_status END,
                      error = v.error, finished_at = now()
     FROM (SELECT ${FAILURE} AS error) v
     WHERE id = $1 AND status IN ('queued', 'running')
       AND NOT EXISTS (SELECT 1 FROM trials WHERE sweep_id = $1 AND status IN ('queued', 'running'))
       AND NOT EXISTS (SELECT 1 FROM sweeps s WHERE s.id = $1 AND ${OWES_FINAL})
     RETURNING status::text, v.error`,
    [sweepId],
  );
  const done = rows[0];
  if (done) await notify(c, { type: "sweep.finished", teamId, sweepId, status: done.status, error: done.error });
  return done?.status ?? null;
}
