/**
 * A sweep's ETA from each architecture's own epoch times: the epochs its unfinished trials are expected to still
 * train, times the median epoch duration measured on that architecture in this sweep, summed over architectures
 * and divided by the trials running at once. A slow architecture's remaining trials are never priced at a fast
 * one's speed.
 *
 * Expected epochs, not planned ones (README, "The ETA"):
 *  - a search trial trains all its epochs, unless the sweep stops trials early (ASHA): past each rung it has not
 *    reached yet, only 1/eta of the trials go on, so a trial that has done d epochs is expected to train
 *    (r1 - d) + (r2 - r1)/eta + ... + (epochs - rk)/eta^k more (rungs above d only);
 *  - a final training stops `patience` epochs after its best one: it is expected to end at the epoch its search
 *    trial was best at plus patience, capped at finalEpochs; one still running past that has improved lately and
 *    is expected to need up to patience more;
 *  - a final training not queued yet (its architecture still searching, automatic final stage) is expected the
 *    same way from the architecture's current leader (or, before any trial finished, searchEpochs).
 */
import type { Db } from "./client.ts";

export interface ArchitectureEta {
  architecture: string;
  /** Epochs the unfinished trials of this architecture (and its final training not queued yet) are expected to train. */
  epochsLeft: number;
  /** Median epoch duration of this architecture in this sweep, or null before its first epoch. */
  msPerEpoch: number | null;
}

/** What the ETA reads from the sweep's merged spec. */
export interface EtaSpec {
  final?: boolean;
  searchEpochs?: number;
  finalEpochs?: number;
  patience?: number;
}

/** Epochs a search trial that has done `done` of `epochs` is expected to train still, under ASHA's rungs (1/eta go on past each). */
export function expectedSearchEpochsLeft(done: number, epochs: number, halving: { rungs: number[]; eta: number } | null): number {
  if (done >= epochs) return 0;
  if (!halving) return epochs - done;
  let left = 0;
  let reach = 1;
  let from = done;
  for (const rung of [...halving.rungs].sort((a, b) => a - b)) {
    if (rung <= done || rung >= epochs) continue;
    left += reach * (rung - from);
    reach /= halving.eta;
    from = rung;
  }
  return left + reach * (epochs - from);
}

/**
 * Epochs a final training that has done `done` is expected to train still: it ends `patience` epochs after its
 * best, expected where its search trial was best (`winnerBest`), never past `finalEpochs`. Without early
 * stopping (or a known best epoch) it trains finalEpochs.
 */
export function expectedFinalEpochsLeft(done: number, finalEpochs: number, patience: number | null, winnerBest: number | null): number {
  if (done >= finalEpochs) return 0;
  if (patience == null || winnerBest == null) return finalEpochs - done;
  const end = Math.min(finalEpochs, winnerBest + patience);
  return done < end ? end - done : Math.min(finalEpochs - done, patience);
}

interface OwedRow {
  architecture: string;
  kind: "search" | "final" | "waiting";
  n: number;
  done: number;
  epochs: number;
  halving: { rungs: number[]; eta: number } | null;
  patience: number | null;
  winner_best: number | null;
}

export async function architectureEtas(db: Db, sweepId: string, spec: EtaSpec = {}): Promise<ArchitectureEta[]> {
  const automatic = spec.final !== false;
  const { rows } = await db.pool.query<OwedRow>(
    // Trials owed (search and final), grouped by what their expectation depends on; then the final trainings not
    // queued yet (as sweep-stages.ts counts them) with the best epoch of their architecture's current leader.
    `SELECT t.architecture, t.stage::text AS kind, count(*)::int AS n, t.epochs_done AS done,
            coalesce((t.spec->>'epochs')::int, 0) AS epochs, t.spec->'halving' AS halving,
            (t.spec->'earlyStopping'->>'patience')::int AS patience, w.best_epoch AS winner_best
     FROM trials t
     LEFT JOIN trials w ON t.stage = 'final' AND w.sweep_id = t.sweep_id AND w.stage = 'search' AND w.key || '/final' = t.key
     WHERE t.sweep_id = $1::uuid AND t.status IN ('queued', 'running') AND t.stage <> 'evaluate'
     GROUP BY t.architecture, t.stage, t.epochs_done, t.spec->>'epochs', t.spec->'halving', t.spec->'earlyStopping'->>'patience', w.best_epoch
     UNION ALL
     SELECT a.architecture, 'waiting', 1, 0, $2::int, NULL, $3::int,
            (SELECT b.best_epoch FROM trials b
             WHERE b.sweep_id = $1::uuid AND b.stage = 'search' AND b.architecture = a.architecture AND b.status = 'succeeded' AND b.selection_score IS NOT NULL
             ORDER BY b.selection_score DESC, b.tiebreak_score DESC NULLS LAST, b.val_loss ASC NULLS LAST, b.position ASC LIMIT 1)
     FROM (SELECT DISTINCT o.architecture FROM trials o
           WHERE $4::boolean AND o.sweep_id = $1::uuid AND o.stage = 'search'
             AND (o.status IN ('queued', 'running') OR (o.status = 'succeeded' AND o.selection_score IS NOT NULL))
             AND NOT EXISTS (SELECT 1 FROM trials f WHERE f.sweep_id = $1::uuid AND f.stage = 'final' AND f.architecture = o.architecture)) a`,
    [sweepId, spec.finalEpochs ?? 0, spec.patience ?? null, automatic],
  );
  const left = new Map<string, number>();
  for (const r of rows) {
    const each =
      r.kind === "search" ? expectedSearchEpochsLeft(r.done, r.epochs, r.halving)
      : expectedFinalEpochsLeft(r.done, r.epochs, r.patience, r.winner_best ?? (r.kind === "waiting" ? (spec.searchEpochs ?? null) : null));
    left.set(r.architecture, (left.get(r.architecture) ?? 0) + r.n * each);
  }
  if (left.size === 0) return [];
  const { rows: speed } = await db.pool.query<{ architecture: string; ms: number }>(
    `SELECT t.architecture, percentile_cont(0.5) WITHIN GROUP (ORDER BY e.duration_ms)::float8 AS ms
     FROM epochs e JOIN trials t ON t.id = e.trial_id
     WHERE t.sweep_id = $1::uuid AND t.architecture = ANY($2::text[]) GROUP BY t.architecture`,
    [sweepId, [...left.keys()]],
  );
  const ms = new Map(speed.map((s) => [s.architecture, s.ms]));
  return [...left].sort(([a], [b]) => a.localeCompare(b)).map(([architecture, epochsLeft]) => ({ architecture, epochsLeft, msPerEpoch: ms.get(architecture) ?? null }));
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
