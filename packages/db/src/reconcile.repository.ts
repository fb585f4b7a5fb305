import { inTransaction, type Db } from "./client.ts";
import { claimTrial, finishSweepIfDone, type LeaseOptions } from "./lease.repository.ts";
import { presentQuarantine } from "./quarantine.repository.ts";

export interface OwedTrial {
  id: string;
  sweepId: string;
}

/**
 * Trials Postgres says are owed a run: queued, or running under a lease that has expired (its worker died or
 * lost Postgres for longer than the lease). Uses the partial index trials_owed_idx.
 */
export async function owedTrials(db: Db, limit = 10_000): Promise<OwedTrial[]> {
  const { rows } = await db.pool.query<OwedTrial>(
    `SELECT t.id::text AS id, t.sweep_id::text AS "sweepId" FROM trials t
     WHERE t.status IN ('queued', 'running') AND (t.status = 'queued' OR t.lease_expires_at < now())
     ORDER BY t.created_at, t.position LIMIT $1`,
    [limit],
  );
  return rows;
}

/**
 * The trials that need a wake-up token in the queue: every trial waiting or running (a running trial holds the
 * token its worker received until it ends; one whose worker died gets it back when BullMQ sees the job stalled).
 * `count` is exact; `ids` are the first `limit` of them, waiting ones first, in plan order.
 */
export async function owedWork(db: Db, limit = 10_000): Promise<{ count: number; ids: OwedTrial[] }> {
  const { rows } = await db.pool.query<OwedTrial & { total: number }>(
    `SELECT t.id::text AS id, t.sweep_id::text AS "sweepId", count(*) OVER ()::int AS total FROM trials t
     WHERE t.status IN ('queued', 'running')
     ORDER BY t.status, t.created_at, t.position LIMIT $1`,
    [limit],
  );
  return { count: rows[0]?.total ?? 0, ids: rows.map(({ id, sweepId }) => ({ id, sweepId })) };
}

/**
 * Fails for good the trials that are owed a run but have used up their attempts (a trial handed back on its
 * last attempt, or whose last worker died): no worker will claim them, so nothing else would end them.
 */
export async function failExhaustedTrials(db: Db, opts: LeaseOptions): Promise<number> {
  const { rows } = await db.pool.query<{ id: string }>(
    `SELECT id::text FROM trials WHERE status IN ('queued', 'running') AND attempt_count - excused_attempts >= $1
       AND (status = 'queued' OR lease_expires_at <= now()) LIMIT 1000`,
    [opts.maxAttempts],
  );
  let n = 0;
  // claimTrial cannot claim a trial out of attempts (attempt counts only grow): it records why and fails it.
  for (const r of rows) if ((await claimTrial(db, r.id, "reconciler", opts)).kind === "done") n++;
  return n;
}

/** Ends sweeps whose trials are all finished but which were not marked (a safety net; normally done inline). */
export async function finishDoneSweeps(db: Db): Promise<number> {
  const { rows: open } = await db.pool.query<{ id: string; team_id: string }>(
    `SELECT s.id::text AS id, s.team_id::text AS team_id FROM sweeps s
     WHERE s.status IN ('queued', 'running')
       AND NOT EXISTS (SELECT 1 FROM trials t WHERE t.sweep_id = s.id AND t.status IN ('queued', 'running'))`,
  );
  let n = 0;
  for (const s of open) {
    const status = await inTransaction(db, (c) => finishSweepIfDone(c, s.id, s.team_id));
    if (status) n++;
  }
  return n;
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  gpus: string[];
  backend: string | null;
  version: string;
  concurrency: number;
  /** The trainers this worker runs. @defaultValue ["tfjs"] */
  trainers?: string[];
  /** The backend each trainer reported when it last started. */
  backends?: Record<string, string>;
}

export async function registerWorker(db: Db, w: WorkerInfo): Promise<void> {
  await db.worker.upsert({
    where: { id: w.id },
    create: { ...w, status: "running" },
    update: { ...w, status: "running", lastHeartbeatAt: new Date() },
  });
}

export async function workerHeartbeat(db: Db, id: string, status = "running"): Promise<void> {
  await db.worker.updateMany({ where: { id }, data: { lastHeartbeatAt: new Date(), status } });
}

/**
 * The fleet: workers seen within `aliveWithinMs` are alive; older ones are listed as gone. A quarantined worker
 * carries its quarantine; the attempts that decided it name trials and errors only of `teamId`'s own trials
 * (all of them when no team is given: the admin's view).
 */
export async function listWorkers(db: Db, aliveWithinMs = 30_000, teamId?: string) {
  const rows = await db.worker.findMany({ orderBy: { startedAt: "desc" }, take: 500 });
  const running = await db.trial.groupBy({ by: ["leaseOwner"], where: { status: "running" }, _count: { _all: true } });
  const busy = new Map(running.map((r) => [r.leaseOwner, r._count._all]));
  const now = Date.now();
  return rows.map(({ quarantinedAt, quarantinedUntil, quarantineReason, quarantineAttempts, releasedAt, releasedBy, ...w }) => ({
    ...w,
    alive: w.status !== "stopped" && now - w.lastHeartbeatAt.getTime() < aliveWithinMs,
    runningTrials: busy.get(w.id) ?? 0,
    quarantine: presentQuarantine({ quarantinedAt, quarantinedUntil, quarantineReason, quarantineAttempts }, now, teamId),
    lastRelease: releasedAt ? { at: releasedAt, by: releasedBy } : null,
  }));
}
