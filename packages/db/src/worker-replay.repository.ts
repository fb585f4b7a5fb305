/**
 * Tells a repeated write from a lost lease. A worker that reaches Postgres through the API may send a request
 * again after a timeout whose first copy was committed; the lease-fenced statements then refuse the copy
 * (the attempt no longer holds a running trial). How the attempt ended says whether that refusal is the
 * attempt's own earlier write (answer as before, record nothing) or a real loss of the lease.
 */
import type { Db } from "./client.ts";

export interface AttemptOutcome {
  /** The attempt's status: running, succeeded, failed, lost. */
  attempt: string;
  /** The trial's status now. */
  trial: string;
  /** The worker that ran the attempt. */
  workerId: string;
}

export async function attemptOutcome(db: Db, trialId: string, attempt: number): Promise<AttemptOutcome | null> {
  const { rows } = await db.pool.query<AttemptOutcome>(
    `SELECT a.status::text AS attempt, t.status::text AS trial, a.worker_id AS "workerId" FROM attempts a JOIN trials t ON t.id = a.trial_id
     WHERE a.trial_id = $1 AND a.number = $2`,
    [trialId, attempt],
  );
  return rows[0] ?? null;
}

/** The stored decision of a trial at a rung (early stopping), as recordRungEpoch returned it, replayed. */
export async function storedRungDecision(db: Db, trialId: string, rung: number) {
  const { rows } = await db.pool.query<{ continues: boolean; rank: number; reached: number; kept: number; bestEpoch: number; selectionScore: number | null }>(
    `SELECT continues, rank, reached, kept, best_epoch AS "bestEpoch", selection_score AS "selectionScore" FROM rung_decisions
     WHERE trial_id = $1 AND rung = $2`,
    [trialId, rung],
  );
  return rows[0] ? { rung, ...rows[0], replayed: true } : null;
}
