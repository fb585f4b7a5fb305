/**
 * The worker's side of the exactly-once protocol. Delivery is at-least-once (BullMQ can hand a trial to two
 * workers); results are exactly-once because every write names its attempt, and only the attempt that holds
 * the lease (trials.current_attempt, status running) may write. Invariants:
 *  - a trial's attempt numbers only grow; each attempt row is written once and then only finished;
 *  - an epoch row is keyed by (trial, epoch): a resumed or retried attempt overwrites, never duplicates;
 *  - the result is written once, in one transaction with the attempt's end and, when it is the last trial,
 *    the sweep's end (serialised per sweep by an advisory lock, so the last of two concurrent finishers sees
 *    the other's commit).
 */
import type { Db } from "./client.ts";
import { LeaseLostError } from "./errors.ts";
import { notifyInTx } from "./events.ts";
import type { Prisma } from "./generated/client.ts";

type Tx = Prisma.TransactionClient;

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
}

export type ClaimOutcome =
  | { kind: "claimed"; trial: ClaimedTrial }
  /** Another attempt holds a live lease until `until`: look again then. */
  | { kind: "held"; until: Date }
  /** Nothing to do: the trial is finished (succeeded, failed, cancelled) or gone. */
  | { kind: "done"; status: string };

interface TrialLockRow {
  status: string;
  attempt_count: number;
  current_attempt: number | null;
  lease_expires_at: Date | null;
  sweep_id: string;
  team_id: string;
  error: string | null;
}

export interface LeaseOptions {
  /** How long a lease lives without a heartbeat. */
  leaseMs: number;
  /** Attempts before a trial fails for good. */
  maxAttempts: number;
}

export async function claimTrial(db: Db, trialId: string, workerId: string, opts: LeaseOptions): Promise<ClaimOutcome> {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<TrialLockRow[]>`
      SELECT status::text AS status, attempt_count, current_attempt, lease_expires_at, sweep_id::text AS sweep_id,
             team_id::text AS team_id, error
      FROM trials WHERE id = ${trialId}::uuid FOR UPDATE`;
    const t = rows[0];
    if (!t) return { kind: "done", status: "missing" } as const;
    if (t.status !== "queued" && t.status !== "running") return { kind: "done", status: t.status } as const;
    const now = new Date();
    if (t.status === "running" && t.lease_expires_at && t.lease_expires_at > now) {
      return { kind: "held", until: t.lease_expires_at } as const;
    }
    if (t.status === "running" && t.current_attempt != null) {
      await tx.attempt.updateMany({
        where: { trialId, number: t.current_attempt, status: "running" },
        data: { status: "lost", finishedAt: now, error: "lease expired: the worker stopped heartbeating", errorReason: "lease_expired" },
      });
    }
    if (t.attempt_count >= opts.maxAttempts) {
      const error = `gave up after ${t.attempt_count} attempts${t.error ? `; last error: ${t.error}` : ""}`;
      await tx.trial.update({
        where: { id: trialId },
        data: { status: "failed", finishedAt: now, leaseOwner: null, leaseExpiresAt: null, error, errorReason: t.error ? undefined : "lease_expired" },
      });
      await notifyInTx(tx, { type: "trial.finished", teamId: t.team_id, sweepId: t.sweep_id, trialId, status: "failed", error });
      await finishSweepIfDone(tx, t.sweep_id, t.team_id);
      return { kind: "done", status: "failed" } as const;
    }
    const attempt = t.attempt_count + 1;
    const trial = await tx.trial.update({
      where: { id: trialId },
      data: {
        status: "running",
        attemptCount: attempt,
        currentAttempt: attempt,
        leaseOwner: workerId,
        leaseExpiresAt: new Date(now.getTime() + opts.leaseMs),
        startedAt: t.attempt_count === 0 ? now : undefined,
      },
      select: {
        architecture: true, task: true, spec: true, epochsDone: true,
        sweep: { select: { seed: true, scenario: true, status: true, startedAt: true, datasetVersion: { select: { id: true, storagePath: true } } } },
      },
    });
    await tx.attempt.create({ data: { trialId, number: attempt, workerId, resumedFrom: trial.epochsDone || null } });
    if (trial.sweep.status === "queued") {
      await tx.sweep.update({ where: { id: t.sweep_id }, data: { status: "running", startedAt: now } });
    }
    await notifyInTx(tx, { type: "trial.started", teamId: t.team_id, sweepId: t.sweep_id, trialId, attempt, workerId });
    return {
      kind: "claimed",
      trial: {
        trialId,
        sweepId: t.sweep_id,
        teamId: t.team_id,
        attempt,
        epochsDone: trial.epochsDone,
        architecture: trial.architecture,
        task: trial.task,
        spec: trial.spec as Record<string, unknown>,
        sweepSeed: trial.sweep.seed,
        scenario: trial.sweep.scenario as Record<string, unknown>,
        datasetVersionId: trial.sweep.datasetVersion.id,
        datasetStoragePath: trial.sweep.datasetVersion.storagePath,
      },
    } as const;
  });
}

/** Renews the lease. False when this attempt no longer holds it (cancelled, or taken over): stop the trainer. */
export async function heartbeat(db: Db, trialId: string, attempt: number, leaseMs: number): Promise<boolean> {
  const rows = await db.$queryRaw<Array<{ n: number }>>`
    WITH t AS (
      UPDATE trials SET lease_expires_at = now() + ${leaseMs}::int * interval '1 millisecond'
      WHERE id = ${trialId}::uuid AND current_attempt = ${attempt}::int AND status = 'running'
      RETURNING id),
    a AS (UPDATE attempts SET heartbeat_at = now() WHERE trial_id IN (SELECT id FROM t) AND number = ${attempt}::int RETURNING id)
    SELECT (SELECT count(*) FROM t)::int + 0 * (SELECT count(*) FROM a)::int AS n`;
  return (rows[0]?.n ?? 0) > 0;
}

/** What the trainer reported when it started: its backend and the epoch it resumed from. */
export async function markAttemptStarted(db: Db, trialId: string, attempt: number, info: { backend: string; resumedFromEpoch?: number }): Promise<void> {
  await db.$transaction([
    db.attempt.updateMany({ where: { trialId, number: attempt }, data: { backend: info.backend, resumedFrom: info.resumedFromEpoch ?? null } }),
    db.trial.updateMany({ where: { id: trialId, currentAttempt: attempt, status: "running" }, data: { backend: info.backend } }),
  ]);
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  lr: number;
  durationMs: number;
  metrics: Record<string, number | null>;
}

/**
 * Writes one epoch (and renews the lease) in a single statement, only if `attempt` holds the lease. A retried
 * attempt that redoes an epoch overwrites it. Throws LeaseLostError otherwise.
 */
export async function recordEpoch(db: Db, trialId: string, attempt: number, e: EpochRecord, leaseMs: number): Promise<void> {
  const auc = e.metrics.auc ?? null;
  const f1 = e.metrics.f1 ?? null;
  const metrics = JSON.stringify(e.metrics);
  const rows = await db.$queryRaw<Array<{ written: number }>>`
    WITH lease AS (
      UPDATE trials SET epochs_done = GREATEST(epochs_done, ${e.epoch}::int),
                        lease_expires_at = now() + ${leaseMs}::int * interval '1 millisecond'
      WHERE id = ${trialId}::uuid AND current_attempt = ${attempt}::int AND status = 'running'
      RETURNING id, sweep_id, team_id),
    ins AS (
      INSERT INTO epochs (trial_id, attempt, epoch, train_loss, val_loss, val_auc, val_f1, lr, duration_ms, metrics)
      SELECT id, ${attempt}::int, ${e.epoch}::int, ${e.trainLoss}::float8, ${e.valLoss}::float8, ${auc}::float8, ${f1}::float8,
             ${e.lr}::float8, ${Math.round(e.durationMs)}::int, ${metrics}::jsonb FROM lease
      ON CONFLICT (trial_id, epoch) DO UPDATE SET attempt = EXCLUDED.attempt, train_loss = EXCLUDED.train_loss,
        val_loss = EXCLUDED.val_loss, val_auc = EXCLUDED.val_auc, val_f1 = EXCLUDED.val_f1, lr = EXCLUDED.lr,
        duration_ms = EXCLUDED.duration_ms, metrics = EXCLUDED.metrics, created_at = now()
      RETURNING trial_id),
    note AS (
      SELECT pg_notify('hypersweep_events', json_build_object('type', 'epoch.done', 'teamId', team_id, 'sweepId', sweep_id,
        'trialId', id, 'epoch', ${e.epoch}::int, 'valLoss', ${e.valLoss}::float8, 'valAuc', ${auc}::float8, 'valF1', ${f1}::float8)::text)
      FROM lease)
    SELECT (SELECT count(*) FROM ins)::int + 0 * (SELECT count(*) FROM note)::int AS written`;
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
}

/** Records the result once. Throws LeaseLostError when `attempt` no longer holds the lease. */
export async function recordResult(db: Db, trialId: string, attempt: number, r: TrialResult): Promise<void> {
  await db.$transaction(async (tx) => {
    const now = new Date();
    const rows = await tx.$queryRaw<Array<{ sweep_id: string; team_id: string }>>`
      UPDATE trials SET status = 'succeeded', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
        best_epoch = ${r.bestEpoch}::int, val_auc = ${r.valAuc}::float8, val_f1 = ${r.valF1}::float8,
        val_loss = ${r.valLoss}::float8, selection_score = ${r.selectionScore}::float8,
        tiebreak_score = ${r.tiebreakScore}::float8, metrics = ${JSON.stringify(r.metrics)}::jsonb,
        weights_path = ${r.weightsPath ?? null}::text, error = NULL, error_reason = NULL
      WHERE id = ${trialId}::uuid AND current_attempt = ${attempt}::int AND status = 'running'
      RETURNING sweep_id::text AS sweep_id, team_id::text AS team_id`;
    const t = rows[0];
    if (!t) throw new LeaseLostError(trialId, attempt);
    await tx.attempt.updateMany({ where: { trialId, number: attempt }, data: { status: "succeeded", finishedAt: now } });
    await notifyInTx(tx, { type: "trial.finished", teamId: t.team_id, sweepId: t.sweep_id, trialId, status: "succeeded", selectionScore: r.selectionScore });
    await finishSweepIfDone(tx, t.sweep_id, t.team_id);
  });
}

/**
 * Ends an attempt that failed. The trial goes back to `queued` for another attempt while attempts remain, else
 * it fails for good. Returns whether it will be retried. Throws LeaseLostError when the lease was lost.
 */
export async function failAttempt(
  db: Db,
  trialId: string,
  attempt: number,
  f: { reason: string; message: string; maxAttempts: number; retryable?: boolean },
): Promise<{ retry: boolean }> {
  return db.$transaction(async (tx) => {
    const now = new Date();
    const rows = await tx.$queryRaw<Array<{ sweep_id: string; team_id: string; attempt_count: number }>>`
      SELECT sweep_id::text AS sweep_id, team_id::text AS team_id, attempt_count FROM trials
      WHERE id = ${trialId}::uuid AND current_attempt = ${attempt}::int AND status = 'running' FOR UPDATE`;
    const t = rows[0];
    if (!t) throw new LeaseLostError(trialId, attempt);
    const message = f.message.slice(0, 4000);
    await tx.attempt.updateMany({ where: { trialId, number: attempt }, data: { status: "failed", finishedAt: now, error: message, errorReason: f.reason } });
    const retry = (f.retryable ?? true) && t.attempt_count < f.maxAttempts;
    await tx.trial.update({
      where: { id: trialId },
      data: retry
        ? { status: "queued", leaseOwner: null, leaseExpiresAt: null, error: message, errorReason: f.reason }
        : { status: "failed", finishedAt: now, leaseOwner: null, leaseExpiresAt: null, error: message, errorReason: f.reason },
    });
    if (!retry) {
      await notifyInTx(tx, { type: "trial.finished", teamId: t.team_id, sweepId: t.sweep_id, trialId, status: "failed", error: message });
      await finishSweepIfDone(tx, t.sweep_id, t.team_id);
    }
    return { retry };
  });
}

/** Hands a trial back (graceful shutdown): the attempt ends as lost and the trial is queued again. */
export async function releaseAttempt(db: Db, trialId: string, attempt: number, why: string): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const n = await tx.trial.updateMany({
      where: { id: trialId, currentAttempt: attempt, status: "running" },
      data: { status: "queued", leaseOwner: null, leaseExpiresAt: null },
    });
    if (n.count === 0) return false;
    await tx.attempt.updateMany({ where: { trialId, number: attempt }, data: { status: "lost", finishedAt: new Date(), error: why, errorReason: "released" } });
    return true;
  });
}

/**
 * Marks a sweep finished when no trial is owed any more: succeeded if any trial succeeded, else failed.
 * Serialised per sweep (advisory lock) so that concurrent last trials cannot both miss the end.
 */
export async function finishSweepIfDone(tx: Tx, sweepId: string, teamId: string): Promise<string | null> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${sweepId}))`;
  const rows = await tx.$queryRaw<Array<{ status: string }>>`
    UPDATE sweeps SET status = CASE WHEN EXISTS (SELECT 1 FROM trials WHERE sweep_id = ${sweepId}::uuid AND status = 'succeeded')
                                    THEN 'succeeded'::sweep_status ELSE 'failed'::sweep_status END,
                      finished_at = now()
    WHERE id = ${sweepId}::uuid AND status IN ('queued', 'running')
      AND NOT EXISTS (SELECT 1 FROM trials WHERE sweep_id = ${sweepId}::uuid AND status IN ('queued', 'running'))
    RETURNING status::text AS status`;
  const status = rows[0]?.status ?? null;
  if (status) await notifyInTx(tx, { type: "sweep.finished", teamId, sweepId, status });
  return status;
}
