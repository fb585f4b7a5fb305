/**
 * What Postgres says about the final models the API stores (HYPERSWEEP_DATA_DIR/models/<id>/): whether an upload
 * comes from an attempt that still holds its trial, and which stored models a recorded result names.
 */
import type { Db } from "./client.ts";

/**
 * True while `attempt` holds the trial's lease: the condition every lease-fenced write of lease.repository.ts
 * puts on its row (the trial running under this attempt). An upload of another attempt (finished, lost, or one
 * that never was) is refused, so no worker token can store a model no live training produced.
 */
export async function attemptHoldsLease(db: Db, trialId: string, attempt: number): Promise<boolean> {
  const { rows } = await db.pool.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM trials WHERE id = $1 AND current_attempt = $2 AND status = 'running') AS held`,
    [trialId, attempt],
  );
  return rows[0]?.held === true;
}

/**
 * The ids of the stored models some trial's weights_path names (`models/<id>/<file>`, relative to the data root
 * or resolved under it, as parseModelPath reads it), whatever the trial's status: none of them may be deleted.
 */
export async function referencedModelIds(db: Db): Promise<Set<string>> {
  const { rows } = await db.pool.query<{ id: string }>(
    `SELECT DISTINCT substring(weights_path FROM '(?:^|/)models/([0-9a-f]{64})/[A-Za-z0-9][A-Za-z0-9._-]*$') AS id
     FROM trials WHERE weights_path LIKE '%models/%'`,
  );
  return new Set(rows.map((r) => r.id).filter((id): id is string => typeof id === "string"));
}
