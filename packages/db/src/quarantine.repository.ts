/**
 * Worker quarantine. A worker whose last `failures` finished attempts all failed for reasons of the node (core's
 * isNodeFault: a crash, a trainer that cannot start or talks nonsense, an internal or data error) takes no trial
 * until an admin releases it or the cool-down passes. The decision is made inside the transaction that records
 * the failure, under the worker row's lock, so that two slots of one worker failing at once cannot both miss it.
 * Attempts that failed on a node once it is judged bad are excused: they do not count towards their trial's
 * maximum attempts (a bad node must not use up a healthy trial's attempts).
 */
import type pg from "pg";
import { isNodeFault } from "@hypersweep/core";
import type { Db } from "./client.ts";

type Q = Pick<pg.PoolClient, "query">;

export interface QuarantinePolicy {
  /** Consecutive node failures that quarantine a worker (0: never). */
  failures: number;
  /** How long a quarantine lasts unless an admin releases the worker first, ms. */
  cooldownMs: number;
}

/** One attempt that decided a quarantine. */
export interface QuarantineAttempt {
  id: string;
  trialId: string;
  teamId: string;
  number: number;
  reason: string;
  message: string;
  finishedAt: string;
}

export interface NodeVerdict {
  /** Set when this failure quarantined the worker. */
  quarantined?: { reason: string; until: Date };
  /** Trials whose attempts were excused and that are owed a run again (to enqueue). */
  requeued: Array<{ trialId: string; sweepId: string }>;
}

/** SQL: the worker row `w` is in quarantine now. */
const ACTIVE = `(w.quarantined_at IS NOT NULL AND w.quarantined_until > now())`;

/**
 * Judges the node after an attempt of `workerId` failed with `reason` (call inside the failing transaction, after
 * the attempt row is marked failed). Excuses the attempts of a node found bad, and puts back to queued any trial
 * that had failed for good by them while its sweep still waits for it.
 */
export async function judgeNode(c: Q, workerId: string, reason: string, policy: QuarantinePolicy | undefined, maxAttempts: number, current: { trialId: string; number: number }): Promise<NodeVerdict> {
  if (!policy || policy.failures <= 0 || !isNodeFault(reason)) return { requeued: [] };
  const { rows: ws } = await c.query<{ active: boolean }>(
    `SELECT ${ACTIVE} AS active FROM workers w WHERE w.id = $1 FOR UPDATE`,
    [workerId],
  );
  const w = ws[0];
  if (!w) return { requeued: [] }; // an unregistered worker (it cannot be paused either)
  if (w.active) {
    // Already judged bad: a failure still in flight when it was quarantined is excused as well.
    await excuse(c, [current]);
    return { requeued: [] };
  }
  // The streak: the worker's latest finished attempts since its last release or cool-down (cancelled ones aside).
  // A failure its trial also had on another worker, for the same reason, speaks against the trial (a corrupt
  // dataset, a trainer bug), not against this node: it does not count, so one bad dataset cannot empty the fleet.
  const { rows: streak } = await c.query<QuarantineAttempt & { status: string; failsElsewhere: boolean }>(
    `SELECT a.id::text, a.trial_id::text AS "trialId", t.team_id::text AS "teamId", a.number, a.status::text AS status,
            EXISTS (SELECT 1 FROM attempts o WHERE o.trial_id = a.trial_id AND o.worker_id <> a.worker_id AND o.status = 'failed'
                      AND o.error_reason = a.error_reason) AS "failsElsewhere",
            COALESCE(a.error_reason, '') AS reason, COALESCE(a.error, '') AS message, to_char(a.finished_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "finishedAt"
     FROM attempts a JOIN trials t ON t.id = a.trial_id
     WHERE a.worker_id = $1 AND a.status IN ('succeeded', 'failed') AND COALESCE(a.error_reason, '') <> 'cancelled'
       AND a.finished_at > (SELECT COALESCE(GREATEST(w.released_at, w.quarantined_until), '-infinity') FROM workers w WHERE w.id = $1)
     ORDER BY a.finished_at DESC, a.id LIMIT $2`,
    [workerId, policy.failures],
  );
  if (streak.length < policy.failures || !streak.every((a) => a.status === "failed" && isNodeFault(a.reason) && !a.failsElsewhere)) return { requeued: [] };
  const evidence = streak.map(({ id, trialId, teamId, number, reason: r, message, finishedAt }) => ({ id, trialId, teamId, number, reason: r, message: message.slice(0, 500), finishedAt }));
  const counts = new Map<string, number>();
  for (const a of evidence) counts.set(a.reason, (counts.get(a.reason) ?? 0) + 1);
  const why = `${policy.failures} consecutive attempt${policy.failures === 1 ? "" : "s"} failed for reasons of the node (${[...counts].map(([r, n]) => `${r} × ${n}`).join(", ")})`;
  const { rows: q } = await c.query<{ until: Date }>(
    `UPDATE workers SET quarantined_at = now(), quarantined_until = now() + $2::bigint * interval '1 millisecond',
                        quarantine_reason = $3, quarantine_attempts = $4::jsonb
     WHERE id = $1 RETURNING quarantined_until AS until`,
    [workerId, policy.cooldownMs, why, JSON.stringify(evidence)],
  );
  await excuse(c, evidence);
  // Trials these attempts had failed for good go back to the queue while their sweep still waits for them (for a
  // search trial: its architecture's final training has not been decided without it).
  const { rows: requeued } = await c.query<{ trialId: string; sweepId: string }>(
    `UPDATE trials t SET status = 'queued', finished_at = NULL
     FROM sweeps s
     WHERE t.id = ANY($1::uuid[]) AND t.id <> $2::uuid AND t.status = 'failed' AND t.attempt_count - t.excused_attempts < $3
       AND s.id = t.sweep_id AND s.status IN ('queued', 'running')
       AND (t.stage <> 'search' OR NOT EXISTS (SELECT 1 FROM trials f WHERE f.sweep_id = t.sweep_id AND f.stage = 'final' AND f.architecture = t.architecture))
     RETURNING t.id::text AS "trialId", t.sweep_id::text AS "sweepId"`,
    [evidence.map((a) => a.trialId), current.trialId, maxAttempts],
  );
  return { quarantined: { reason: why, until: q[0].until }, requeued };
}

async function excuse(c: Q, attempts: Array<{ trialId: string }>): Promise<void> {
  const ids = attempts.map((a) => a.trialId);
  // One row per attempt: a trial that failed twice on the node is excused twice.
  await c.query(
    `UPDATE trials t SET excused_attempts = t.excused_attempts + x.n
     FROM (SELECT id, count(*)::int AS n FROM unnest($1::uuid[]) AS id GROUP BY id) x WHERE t.id = x.id`,
    [ids],
  );
}

export interface WorkerQuarantineState {
  quarantined: boolean;
  until: Date | null;
}

/**
 * A worker's own look at its quarantine (polled while it is paused). A quarantine whose cool-down has passed is
 * ended here (released by "cool-down"), so that only later attempts count towards the next one.
 */
export async function workerQuarantineState(db: Db, workerId: string): Promise<WorkerQuarantineState> {
  await db.pool.query(
    `UPDATE workers SET quarantined_at = NULL, quarantined_until = NULL, released_at = now(), released_by = 'cool-down'
     WHERE id = $1 AND quarantined_at IS NOT NULL AND quarantined_until <= now()`,
    [workerId],
  );
  const { rows } = await db.pool.query<{ active: boolean; until: Date | null }>(`SELECT ${ACTIVE} AS active, w.quarantined_until AS until FROM workers w WHERE w.id = $1`, [workerId]);
  return { quarantined: rows[0]?.active ?? false, until: rows[0]?.until ?? null };
}

/**
 * Releases a worker from quarantine (an admin's decision): it takes trials again at its next poll, and only
 * attempts after now count towards a new quarantine. Null when there is no such worker.
 */
export async function releaseWorker(db: Db, workerId: string, by = "admin"): Promise<{ wasQuarantined: boolean } | null> {
  const { rows } = await db.pool.query<{ was: boolean }>(
    `WITH prev AS (SELECT id, ${ACTIVE} AS was FROM workers w WHERE w.id = $1 FOR UPDATE)
     UPDATE workers w SET quarantined_at = NULL, quarantined_until = NULL, released_at = now(), released_by = $2
     FROM prev WHERE w.id = prev.id RETURNING prev.was`,
    [workerId, by],
  );
  return rows[0] ? { wasQuarantined: rows[0].was } : null;
}

/**
 * A worker's quarantine as the fleet view shows it (null when it is not in quarantine now). Attempts of other
 * teams' trials keep their id, reason and time; their trial and message are withheld.
 */
export function presentQuarantine(
  w: { quarantinedAt: Date | null; quarantinedUntil: Date | null; quarantineReason: string | null; quarantineAttempts: unknown },
  now: number,
  teamId?: string,
) {
  if (!w.quarantinedAt || !w.quarantinedUntil || w.quarantinedUntil.getTime() <= now) return null;
  const attempts = (Array.isArray(w.quarantineAttempts) ? (w.quarantineAttempts as QuarantineAttempt[]) : []).map((a) => {
    const own = teamId === undefined || a.teamId === teamId;
    return { id: a.id, trialId: own ? a.trialId : null, attempt: a.number, reason: a.reason, message: own ? a.message : null, finishedAt: a.finishedAt, ownTeam: own };
  });
  return { since: w.quarantinedAt, until: w.quarantinedUntil, reason: w.quarantineReason ?? "", attempts };
}
