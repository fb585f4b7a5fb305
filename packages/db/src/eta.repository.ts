/**
 * A sweep's ETA from each architecture's own epoch times: the epochs its unfinished trials still owe, times the
 * median epoch duration measured on that architecture in this sweep, summed over architectures and divided by
 * the trials running at once. A slow architecture's remaining trials are never priced at a fast one's speed.
 */
import type { Db } from "./client.ts";

export interface ArchitectureEta {
  architecture: string;
  /** Epochs the queued and running trials of this architecture still owe (planned minus done). */
  epochsLeft: number;
  /** Median epoch duration of this architecture in this sweep, or null before its first epoch. */
  msPerEpoch: number | null;
}

export async function architectureEtas(db: Db, sweepId: string): Promise<ArchitectureEta[]> {
  const { rows } = await db.pool.query<{ architecture: string; epochs_left: number; ms: number | null }>(
    `WITH owed AS (
       SELECT architecture, coalesce(sum(greatest(coalesce((spec->>'epochs')::int, 0) - epochs_done, 0)), 0)::int AS epochs_left
       FROM trials WHERE sweep_id = $1::uuid AND status IN ('queued', 'running') AND stage <> 'evaluate' GROUP BY architecture
     ), speed AS (
       SELECT t.architecture, percentile_cont(0.5) WITHIN GROUP (ORDER BY e.duration_ms)::float8 AS ms
       FROM epochs e JOIN trials t ON t.id = e.trial_id
       WHERE t.sweep_id = $1::uuid AND t.architecture IN (SELECT architecture FROM owed) GROUP BY t.architecture
     )
     SELECT o.architecture, o.epochs_left, s.ms FROM owed o LEFT JOIN speed s USING (architecture) ORDER BY o.architecture`,
    [sweepId],
  );
  return rows.map((r) => ({ architecture: r.architecture, epochsLeft: r.epochs_left, msPerEpoch: r.ms }));
}

/** Seconds left: 0 when nothing is owed, null while an architecture that owes epochs has no measured epoch. */
export function estimateEta(archs: ArchitectureEta[], parallel: number): number | null {
  let ms = 0;
  for (const a of archs) {
    if (a.epochsLeft === 0) continue;
    if (a.msPerEpoch == null) return null;
    ms += a.epochsLeft * a.msPerEpoch;
  }
  return Math.round(ms / Math.max(1, parallel) / 1000);
}
