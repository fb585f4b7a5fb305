/**
 * Fair share between teams: Postgres chooses which trial a free trainer slot runs next; the queue only wakes
 * workers up (a job is a token, not a trial). One statement claims, under the same lease protocol as claimTrial:
 *  1. a trial running under an expired lease (its worker died), whatever its team: it already counts as running;
 *  2. else, among teams with waiting trials and under their running quota, the team with the fewest running
 *     trials per unit of weight (ties: a lottery weighted by the teams' weights, so equal teams alternate), and
 *     that team's first waiting trial: highest sweep priority, then oldest submission, then plan position.
 * Only trials of the trainers the worker runs are considered. Rows are taken FOR UPDATE SKIP LOCKED, so two
 * workers never claim the same trial and never wait for each other. A team with a running quota hands each
 * running trial one of its slots (1..max_running); the unique index trials_running_slot_idx makes two workers
 * that pick the same free slot at the same instant collide (one claim fails with a unique violation and is tried
 * again), so the quota holds under concurrency without a lock or a counter.
 */
import type pg from "pg";
import type { Db } from "./client.ts";
import { ConflictError } from "./errors.ts";
import { EVENTS_CHANNEL } from "./events.ts";
import type { ClaimedTrial, LeaseOptions } from "./lease.repository.ts";

export interface ClaimNextOptions extends LeaseOptions {
  /** Trainers this worker runs (trials.trainer). @defaultValue ["tfjs"] */
  trainers?: string[];
  /**
   * The worker's key for this claim: fresh per claim, the same when the claim is sent again because its answer
   * was lost. Stored on the attempt the claim opens.
   */
  claimKey?: string;
  /** This claim was sent before and its answer lost: answer with the attempt its key opened, if it still runs. */
  repeat?: boolean;
}

export type ClaimNextOutcome =
  | { kind: "claimed"; trial: ClaimedTrial }
  /**
   * Nothing this worker may start now. `owed`: trials are waiting or need a new attempt, but not for this worker
   * now (their teams are at their running quota, they need another trainer, or other workers are taking them):
   * look again later. Otherwise nothing is owed at all.
   */
  | { kind: "idle"; owed: boolean };

const UNIQUE_VIOLATION = "23505";

// An attempt starts when the claim has seen its slot free (clock_timestamp, after this statement's snapshot), not
// when its transaction began (now()): a slot freed by a result committing while the claim was being planned is
// then never stamped as taken before it was given back.
const CLAIM_NEXT = `WITH running AS MATERIALIZED (
     SELECT team_id, count(*)::int AS n FROM trials WHERE status = 'running' GROUP BY team_id),
   expired AS (
     SELECT id, status, current_attempt, quota_slot FROM trials
     WHERE status = 'running' AND lease_expires_at <= now() AND trainer = ANY($3::text[]) AND attempt_count - excused_attempts < $4
     LIMIT 1 FOR UPDATE SKIP LOCKED),
   fair AS (
     SELECT h.id, h.status, h.current_attempt,
            CASE WHEN c.max_running IS NULL THEN NULL ELSE (
              SELECT min(k)::int FROM generate_series(1, c.max_running) k
              WHERE NOT EXISTS (SELECT 1 FROM trials u WHERE u.team_id = c.team_id AND u.status = 'running' AND u.quota_slot = k)) END AS quota_slot
     FROM (
       SELECT tm.id AS team_id, tm.max_running, coalesce(r.n, 0)::float8 / tm.weight AS share, -ln(1 - random()) / tm.weight AS lot
       FROM teams tm LEFT JOIN running r ON r.team_id = tm.id
       WHERE (tm.max_running IS NULL OR coalesce(r.n, 0) < tm.max_running)
         -- A scalar probe (EXISTS becomes a semi join that reads every waiting trial), ordered as trials_waiting_idx
         -- is so that it reads that index: unordered, a one-off plan may scan the table for a team's first row.
         AND (SELECT true FROM trials q WHERE q.team_id = tm.id AND q.status = 'queued' ORDER BY q.priority DESC, q.submitted_at, q.position LIMIT 1)
       ORDER BY share, lot) c
     CROSS JOIN LATERAL (
       SELECT id, status, current_attempt FROM trials t
       WHERE t.team_id = c.team_id AND t.status = 'queued' AND t.trainer = ANY($3::text[]) AND t.attempt_count - t.excused_attempts < $4
       ORDER BY t.priority DESC, t.submitted_at, t.position
       LIMIT 1 FOR UPDATE SKIP LOCKED) h
     ORDER BY c.share, c.lot
     LIMIT 1),
   pick AS (
     SELECT * FROM expired UNION ALL SELECT * FROM fair LIMIT 1),
   t AS (
     UPDATE trials tr SET status = 'running', attempt_count = tr.attempt_count + 1, current_attempt = tr.attempt_count + 1,
                          lease_owner = $1, lease_expires_at = now() + $2::int * interval '1 millisecond',
                          started_at = COALESCE(tr.started_at, clock_timestamp()), quota_slot = pick.quota_slot
     FROM pick WHERE tr.id = pick.id
     RETURNING tr.id, tr.sweep_id, tr.team_id, tr.attempt_count, tr.architecture, tr.task, tr.spec, tr.epochs_done, tr.stage, tr.trainer,
               pick.status AS prev_status, pick.current_attempt AS prev_attempt),
   lost AS (
     UPDATE attempts SET status = 'lost', finished_at = now(), error = 'lease expired: the worker stopped heartbeating',
                         error_reason = 'lease_expired'
     FROM t WHERE attempts.trial_id = t.id AND attempts.status = 'running' AND t.prev_status = 'running' AND attempts.number = t.prev_attempt
     RETURNING attempts.id),
   a AS (
     INSERT INTO attempts (id, trial_id, number, worker_id, resumed_from, claim_key, started_at)
     SELECT gen_random_uuid(), id, attempt_count, $1, NULLIF(epochs_done, 0), $5, clock_timestamp() FROM t RETURNING id),
   s AS (
     UPDATE sweeps SET status = 'running', started_at = now()
     WHERE id IN (SELECT sweep_id FROM t) AND status = 'queued' RETURNING id),
   note AS (
     SELECT pg_notify('${EVENTS_CHANNEL}', json_build_object('type', 'trial.started', 'teamId', team_id, 'sweepId', sweep_id,
       'trialId', id, 'attempt', attempt_count, 'workerId', $1::text, 'stage', stage)::text) FROM t)
   SELECT t.id::text AS trial_id, t.sweep_id::text, t.team_id::text, t.attempt_count, t.architecture, t.task, t.spec, t.epochs_done, t.trainer,
          sw.seed, sw.scenario, v.id::text AS version_id, v.storage_path,
          (SELECT count(*) FROM a)::int + (SELECT count(*) FROM lost)::int * 0 + (SELECT count(*) FROM s)::int * 0
            + (SELECT count(*) FROM note)::int * 0 AS opened
   FROM t JOIN sweeps sw ON sw.id = t.sweep_id JOIN dataset_versions v ON v.id = sw.dataset_version_id`;

interface ClaimRow {
  trial_id: string;
  sweep_id: string;
  team_id: string;
  attempt_count: number;
  architecture: string;
  task: string;
  spec: Record<string, unknown>;
  epochs_done: number;
  seed: number;
  scenario: Record<string, unknown>;
  version_id: string;
  storage_path: string;
  trainer: string;
}

/** The attempt a claim with this key opened ($1), still running under this worker's lease ($2): a repeat's answer. */
const CLAIMED_BY_KEY = `SELECT t.id::text AS trial_id, t.sweep_id::text, t.team_id::text, t.attempt_count, t.architecture, t.task, t.spec, t.epochs_done, t.trainer,
          sw.seed, sw.scenario, v.id::text AS version_id, v.storage_path
   FROM attempts at
   JOIN trials t ON t.id = at.trial_id AND t.current_attempt = at.number AND t.status = 'running' AND t.lease_owner = $2
   JOIN sweeps sw ON sw.id = t.sweep_id JOIN dataset_versions v ON v.id = sw.dataset_version_id
   WHERE at.claim_key = $1 AND at.status = 'running'`;

/** Is anything owed at all (waiting, or running under an expired lease), for any trainer? */
const ANY_OWED = `SELECT EXISTS (SELECT 1 FROM trials WHERE status = 'queued')
   OR EXISTS (SELECT 1 FROM trials WHERE status = 'running' AND lease_expires_at <= now()) AS owed`;

/**
 * Claims the trial fair share says runs next (see the file's comment) for `workerId`, opening a new attempt
 * that holds a lease, in one statement. `idle` when there is nothing this worker may start now.
 */
export async function claimNextTrial(db: Db, workerId: string, opts: ClaimNextOptions): Promise<ClaimNextOutcome> {
  const trainers = opts.trainers?.length ? opts.trainers : ["tfjs"];
  if (opts.repeat && opts.claimKey) {
    // The first copy of this claim may have committed: its attempt is this claim's answer (a second would wait
    // out the first's lease and count as an attempt lost).
    const { rows } = await db.pool.query<ClaimRow>({ name: "hs_claimed_by_key", text: CLAIMED_BY_KEY, values: [opts.claimKey, workerId] });
    if (rows[0]) return { kind: "claimed", trial: toClaimed(rows[0]) };
  }
  for (let tries = 0; ; tries++) {
    let rows: ClaimRow[];
    try {
      ({ rows } = await db.pool.query<ClaimRow>({ name: "hs_claim_next", text: CLAIM_NEXT, values: [workerId, opts.leaseMs, trainers, opts.maxAttempts, opts.claimKey ?? null] }));
    } catch (err) {
      const e = err as { code?: string; constraint?: string };
      // The key was used already (a repeat not marked so): the answer is the attempt it opened, if it still runs.
      if (e.code === UNIQUE_VIOLATION && e.constraint === "attempts_claim_key_key") {
        const { rows: again } = await db.pool.query<ClaimRow>({ name: "hs_claimed_by_key", text: CLAIMED_BY_KEY, values: [opts.claimKey, workerId] });
        if (again[0]) return { kind: "claimed", trial: toClaimed(again[0]) };
        throw new ConflictError(`claim key ${opts.claimKey} was used by an earlier claim that no longer holds its trial: send a new key`);
      }
      // Another worker took the same free quota slot at the same instant: look again (the slot is now counted).
      if (e.code === UNIQUE_VIOLATION && tries < 20) continue;
      throw err;
    }
    const r = rows[0];
    if (r) return { kind: "claimed", trial: toClaimed(r) };
    const { rows: o } = await db.pool.query<{ owed: boolean }>({ name: "hs_any_owed", text: ANY_OWED } as pg.QueryConfig);
    return { kind: "idle", owed: o[0]?.owed ?? false };
  }
}

function toClaimed(r: ClaimRow): ClaimedTrial {
  return {
    trialId: r.trial_id, sweepId: r.sweep_id, teamId: r.team_id, attempt: r.attempt_count, epochsDone: r.epochs_done, architecture: r.architecture,
    task: r.task, spec: r.spec, sweepSeed: r.seed, scenario: r.scenario, datasetVersionId: r.version_id, datasetStoragePath: r.storage_path,
    trainer: r.trainer,
  };
}
