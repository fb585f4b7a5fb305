/**
 * A sweep's two stages as progress: the search (its planned trials) and the final stage (one training per
 * architecture whose search has a winner, queued by itself unless the sweep says `final: false`). Final
 * trainings not yet queued are counted as expected, with `finalEpochs` each, so the bars never run backwards
 * when they appear; early stopping ends them sooner, and a finished trial counts whole.
 */
import type { Db } from "./client.ts";

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type TrialStatusName = (typeof STATUSES)[number];

export interface StageProgress {
  /** Trials of this stage: existing ones (search: the plan; final: those queued so far) and, for the final stage, expected ones. */
  trials: number;
  counts: Record<TrialStatusName, number>;
  progress: { epochsDone: number; epochsPlanned: number; fraction: number };
}

export interface SweepStages {
  /** `stoppedEarly`: search trials that early stopping (ASHA) ended at a rung (counted as succeeded too). */
  search: StageProgress & { stoppedEarly: number };
  final: StageProgress & {
    /** Whether the sweep trains its winners by itself. */
    automatic: boolean;
    /** Final trainings expected in all: those queued so far and those `waiting`. */
    expected: number;
    /** Final trainings not queued yet: architectures still searching, or whose winner's training is about to be queued. */
    waiting: number;
  };
}

interface Row {
  stage: "search" | "final";
  status: TrialStatusName;
  n: number;
  epochs_done: number;
  epochs_planned: number;
  stopped_early: number;
}

const emptyCounts = () => Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<TrialStatusName, number>;

function stageOf(rows: Row[], stage: Row["stage"], extra = { trials: 0, epochs: 0 }): StageProgress {
  const counts = emptyCounts();
  let epochsDone = 0;
  let epochsPlanned = extra.epochs;
  for (const r of rows.filter((x) => x.stage === stage)) {
    counts[r.status] = r.n;
    epochsPlanned += r.epochs_planned;
    epochsDone += r.status === "queued" || r.status === "running" ? r.epochs_done : r.epochs_planned;
  }
  const trials = Object.values(counts).reduce((a, b) => a + b, 0) + extra.trials;
  return { trials, counts, progress: { epochsDone, epochsPlanned, fraction: epochsPlanned ? epochsDone / epochsPlanned : 0 } };
}

export async function sweepStages(db: Db, sweepId: string, spec: { final?: boolean; finalEpochs?: number }): Promise<SweepStages> {
  const { rows } = await db.pool.query<Row>(
    `SELECT stage::text AS stage, status::text AS status, count(*)::int AS n, coalesce(sum(epochs_done), 0)::int AS epochs_done,
            coalesce(sum((spec->>'epochs')::int), 0)::int AS epochs_planned, count(stopped_early_at)::int AS stopped_early
     FROM trials WHERE sweep_id = $1 GROUP BY stage, status`,
    [sweepId],
  );
  const automatic = spec.final !== false;
  // Architectures without a final training yet that will get one: still searching, or with a winner.
  const { rows: pending } = await db.pool.query<{ n: number }>(
    `SELECT count(DISTINCT w.architecture)::int AS n FROM trials w
     WHERE w.sweep_id = $1 AND w.stage = 'search'
       AND (w.status IN ('queued', 'running') OR (w.status = 'succeeded' AND w.selection_score IS NOT NULL))
       AND NOT EXISTS (SELECT 1 FROM trials f WHERE f.sweep_id = $1 AND f.stage = 'final' AND f.architecture = w.architecture)`,
    [sweepId],
  );
  const owed = automatic ? (pending[0]?.n ?? 0) : 0;
  const final = stageOf(rows, "final", { trials: owed, epochs: owed * (spec.finalEpochs ?? 0) });
  const stoppedEarly = rows.filter((r) => r.stage === "search").reduce((a, r) => a + r.stopped_early, 0);
  return { search: { ...stageOf(rows, "search"), stoppedEarly }, final: { ...final, automatic, expected: final.trials, waiting: owed } };
}
