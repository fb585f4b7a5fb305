/**
 * Reads shaped for dashboards: every sweep with its progress and best score in one query, and every epoch of a
 * sweep at once (per trial, columnar) for drawing all learning curves.
 */
import type { Db } from "./client.ts";
import { NotFoundError } from "./errors.ts";
import { architectureEtas, estimateEta, type EtaSpec } from "./eta.repository.ts";

/** One trial's epochs, column by column (index i of every array is one epoch). */
export interface TrialEpochs {
  id: string;
  epoch: number[];
  trainLoss: number[];
  valLoss: number[];
  valAuc: Array<number | null>;
  valF1: Array<number | null>;
}

/**
 * Every epoch of every trial of a sweep, in plan order, as the JSON text of `{ trials: TrialEpochs[] }`: Postgres
 * builds it in one statement (30,000 epochs are a few MB that Node then neither parses nor re-serialises).
 */
export async function sweepEpochsJson(db: Db, teamId: string, sweepId: string): Promise<string> {
  const { rows } = await db.pool.query<{ json: string | null }>(
    `SELECT (SELECT json_build_object('trials', coalesce(json_agg(x ORDER BY x.position), '[]'))::text FROM (
       SELECT t.id, t.position, array_agg(e.epoch ORDER BY e.epoch) AS epoch, array_agg(e.train_loss ORDER BY e.epoch) AS "trainLoss",
              array_agg(e.val_loss ORDER BY e.epoch) AS "valLoss", array_agg(e.val_auc ORDER BY e.epoch) AS "valAuc", array_agg(e.val_f1 ORDER BY e.epoch) AS "valF1"
       FROM trials t JOIN epochs e ON e.trial_id = t.id WHERE t.sweep_id = s.id GROUP BY t.id, t.position) x) AS json
     FROM sweeps s WHERE s.id = $1::uuid AND s.team_id = $2::uuid`,
    [sweepId, teamId],
  );
  if (!rows.length) throw new NotFoundError("sweep", sweepId);
  return rows[0].json ?? '{"trials":[]}';
}

export interface SweepOverview {
  id: string;
  name: string | null;
  status: string;
  datasetId: string;
  datasetName: string;
  scenarioKey: string;
  architectures: string[];
  /** 'final' once final trainings were added, else 'search'. */
  stage: "search" | "final";
  trialCount: number;
  counts: Record<"queued" | "running" | "succeeded" | "failed" | "cancelled", number>;
  progress: { epochsDone: number; epochsPlanned: number; fraction: number };
  etaSeconds: number | null;
  /** The best score among the search stage's succeeded trials so far, in the selection metric's own terms (a validation loss as it is: lower is better). */
  bestScore: number | null;
  createdAt: Date;
  finishedAt: Date | null;
  /** Why the sweep failed (as GET /v1/sweeps/:id has it), else null. */
  error: string | null;
}

/** The team's sweeps, newest first, filtered by status and dataset (id or name), with progress and ETA. */
export async function sweepOverview(db: Db, teamId: string, opts: { status?: string; dataset?: string; limit?: number } = {}): Promise<SweepOverview[]> {
  const { rows } = await db.pool.query(
    `SELECT s.id::text, s.name, s.status::text AS status, d.id::text AS "datasetId", d.name AS "datasetName", s.scenario_key AS "scenarioKey",
            coalesce(ARRAY(SELECT jsonb_array_elements_text(s.spec->'architectures')), '{}') AS architectures,
            s.trial_count AS "trialCount", s.created_at AS "createdAt", s.finished_at AS "finishedAt", s.error, s.spec, a.*
     FROM sweeps s JOIN datasets d ON d.id = s.dataset_id
     CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE t.status = 'queued')::int AS queued, count(*) FILTER (WHERE t.status = 'running')::int AS running,
              count(*) FILTER (WHERE t.status = 'succeeded')::int AS succeeded, count(*) FILTER (WHERE t.status = 'failed')::int AS failed,
              count(*) FILTER (WHERE t.status = 'cancelled')::int AS cancelled, count(*) FILTER (WHERE t.stage = 'final')::int AS finals,
              coalesce(sum(CASE WHEN t.status IN ('queued', 'running') THEN t.epochs_done ELSE (t.spec->>'epochs')::int END), 0)::int AS "epochsDone",
              coalesce(sum((t.spec->>'epochs')::int), 0)::int AS "epochsPlanned",
              -- In the metric's own terms: selection scores are oriented (a validation loss is stored negated).
              CASE WHEN s.spec->>'selectionMetric' = 'valLoss' THEN -1 ELSE 1 END
                * max(t.selection_score) FILTER (WHERE t.stage = 'search' AND t.status = 'succeeded') AS "bestScore"
       FROM trials t WHERE t.sweep_id = s.id AND t.stage <> 'evaluate') a
     WHERE s.team_id = $1::uuid AND ($2::text IS NULL OR s.status::text = $2) AND ($3::text IS NULL OR d.name = $3 OR d.id::text = $3)
     ORDER BY s.created_at DESC LIMIT $4`,
    [teamId, opts.status ?? null, opts.dataset ?? null, Math.min(opts.limit ?? 100, 500)],
  );
  // The same estimate as a sweep's own view (eta.repository.ts), for the sweeps still open (a handful).
  const etas = await Promise.all(rows.map((r) => (r.status === "queued" || r.status === "running"
    ? architectureEtas(db, r.id, r.spec as EtaSpec).then((a) => estimateEta(a, r.running))
    : Promise.resolve(0))));
  return rows.map((r, i) => ({
    id: r.id, name: r.name, status: r.status, datasetId: r.datasetId, datasetName: r.datasetName, scenarioKey: r.scenarioKey,
    architectures: r.architectures, stage: r.finals > 0 ? "final" : "search", trialCount: r.trialCount,
    counts: { queued: r.queued, running: r.running, succeeded: r.succeeded, failed: r.failed, cancelled: r.cancelled },
    progress: { epochsDone: r.epochsDone, epochsPlanned: r.epochsPlanned, fraction: r.epochsPlanned ? r.epochsDone / r.epochsPlanned : 0 },
    etaSeconds: etas[i]!, bestScore: r.bestScore, createdAt: r.createdAt, finishedAt: r.finishedAt, error: r.error,
  }));
}
