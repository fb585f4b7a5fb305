/**
 * The final stage's bookkeeping. Invariants:
 *  - a sweep has at most one final training per architecture (the unique index trials_one_final_per_architecture
 *    enforces it, whoever asks: a worker after the last search trial, the reconciler, or POST .../final);
 *  - a sweep that trains its winners by itself (spec.final is not false) owes a final training for every
 *    architecture whose search is over and has a winner (a succeeded trial with a selection score) until one
 *    exists; such a sweep is not finished (finishSweepIfDone reads OWES_FINAL).
 */
import { inTransaction, type Db } from "./client.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { EVENTS_CHANNEL } from "./events.ts";

/**
 * SQL: the sweep `s` owes a final training (a condition; `s` must be an alias of sweeps). Mirrors core's
 * planFinalTrainings: the architecture's search is over, it has a winner, and it has no final trial yet.
 */
export const OWES_FINAL = `(COALESCE(s.spec->>'final', 'true') <> 'false' AND EXISTS (
    SELECT 1 FROM trials w WHERE w.sweep_id = s.id AND w.stage = 'search' AND w.status = 'succeeded' AND w.selection_score IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM trials o WHERE o.sweep_id = s.id AND o.stage = 'search' AND o.architecture = w.architecture AND o.status IN ('queued', 'running'))
      AND NOT EXISTS (SELECT 1 FROM trials f WHERE f.sweep_id = s.id AND f.stage = 'final' AND f.architecture = w.architecture)))`;

/** Open sweeps that owe a final training (what the reconciler makes good after a worker died at the wrong time). */
export async function sweepsOwingFinal(db: Db, limit = 1000): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>(
    `SELECT s.id::text AS id FROM sweeps s WHERE s.status IN ('queued', 'running') AND ${OWES_FINAL} ORDER BY s.created_at LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/** What deciding a sweep's final trainings needs: its team, merged spec, task and status (null: no such sweep). */
export async function sweepForFinal(db: Db, sweepId: string): Promise<{ teamId: string; spec: Record<string, unknown>; task: string; status: string } | null> {
  const { rows } = await db.pool.query(
    `SELECT team_id::text AS "teamId", spec, scenario->>'task' AS task, status::text AS status FROM sweeps WHERE id = $1`,
    [sweepId],
  );
  return rows[0] ?? null;
}

export interface FinalTrialRequest {
  /** The search trial whose configuration is retrained. */
  fromTrialId: string;
  /** The trainer spec of the final training (stage final, epochs, early stopping, test evaluation). */
  spec: Record<string, unknown>;
}

/**
 * Adds final trainings to a sweep (one per chosen search trial), idempotently: an architecture that already has
 * a final trial gets no second one (it is returned with `created: false`). The sweep runs until they finish; a
 * `final.queued` event names the new ones. Returns every final trial of the requested architectures.
 */
export async function addFinalTrials(db: Db, teamId: string, sweepId: string, reqs: FinalTrialRequest[]): Promise<Array<{ id: string; architecture: string; created: boolean }>> {
  return inTransaction(db, async (c) => {
    // The sweep's row lock serialises every adder: the second sees the first's trial.
    const sweep = await c.query<{ status: string }>(`SELECT status::text FROM sweeps WHERE id = $1 AND team_id = $2 FOR UPDATE`, [sweepId, teamId]);
    if (!sweep.rowCount) throw new NotFoundError("sweep", sweepId);
    if (sweep.rows[0].status === "cancelled") throw new ConflictError(`sweep ${sweepId} was cancelled`);
    const out: Array<{ id: string; architecture: string; created: boolean }> = [];
    for (const r of reqs) {
      const existing = await c.query<{ id: string; architecture: string }>(
        `SELECT f.id::text, f.architecture FROM trials f JOIN trials s ON s.id = $2
         WHERE f.sweep_id = $1 AND f.stage = 'final' AND f.architecture = s.architecture LIMIT 1`,
        [sweepId, r.fromTrialId],
      );
      if (existing.rows[0]) {
        out.push({ ...existing.rows[0], created: false });
        continue;
      }
      const { rows } = await c.query<{ id: string; architecture: string }>(
        `INSERT INTO trials (id, sweep_id, team_id, dataset_id, scenario_key, task, position, key, architecture, learning_rate, augmentations, stage, spec)
         SELECT gen_random_uuid(), s.sweep_id, s.team_id, s.dataset_id, s.scenario_key, s.task,
                (SELECT max(position) + 1 FROM trials WHERE sweep_id = $1), s.key || '/final', s.architecture, s.learning_rate,
                s.augmentations, 'final', $3::jsonb
         FROM trials s WHERE s.id = $2 AND s.sweep_id = $1
         RETURNING id::text, architecture`,
        [sweepId, r.fromTrialId, JSON.stringify(r.spec)],
      );
      out.push({ ...rows[0], created: true });
    }
    const added = out.filter((o) => o.created);
    if (added.length) {
      await c.query(
        `UPDATE sweeps SET trial_count = trial_count + $2, status = 'running', finished_at = NULL, error = NULL WHERE id = $1 AND status <> 'cancelled'`,
        [sweepId, added.length],
      );
      const event = { type: "final.queued", teamId, sweepId, trials: added.map(({ id, architecture }) => ({ id, architecture })) };
      await c.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [JSON.stringify(event)]);
    }
    return out;
  });
}

/** Whether the sweep owes a final training right now (cheap: asked after every search trial that ends). */
export async function sweepOwesFinal(db: Db, sweepId: string): Promise<boolean> {
  const { rows } = await db.pool.query(`SELECT 1 FROM sweeps s WHERE s.id = $1 AND s.status IN ('queued', 'running') AND ${OWES_FINAL}`, [sweepId]);
  return rows.length > 0;
}
