/**
 * Best-config queries. The order is selectBest's (packages/core): the selection score high first (the sweep's
 * selection metric, oriented so that higher is better), then the tie-break score, then lower validation loss,
 * then plan position; only succeeded trials with a score compete, and only those ranked by the asked metric
 * (default: the paper's, AUC for binary and F1 for multiclass), since scores of different metrics do not
 * compare. Each reads the top of the partial index trials_best_config_idx, and goes straight to node-postgres
 * (a dashboard asks these all the time).
 */
import type { Db } from "./client.ts";

export interface BestRow {
  trialId: string;
  sweepId: string;
  datasetId: string;
  scenarioKey: string;
  task: string;
  architecture: string;
  learningRate: number;
  augmentations: string[];
  /** The ranking key: the selection metric oriented so that higher is better (a validation loss negated). */
  selectionScore: number;
  /** The selection metric's value in its own terms, as a person reads it (a validation loss as it is: lower is better). */
  score: number;
  valAuc: number | null;
  valF1: number | null;
  valLoss: number | null;
  bestEpoch: number | null;
  metrics: unknown;
  finishedAt: Date | null;
  /** The metric that ranked this trial (the sweep's selection metric). */
  selectionMetric: string;
  /** The trainer that trained it (tfjs or pytorch). */
  trainer: string;
  /** The winner retrained to convergence and scored on the test set, when a final training was asked for. */
  final: { trialId: string; status: string; bestEpoch: number | null; metrics: unknown; error: string | null } | null;
}

/** The paper's metric of the trial's task (what a spec without a selection metric was ranked by). */
const PAPER_METRIC = `CASE t.task WHEN 'binary' THEN 'auc' ELSE 'f1' END`;

const COLUMNS = `t.id::text AS "trialId", t.sweep_id::text AS "sweepId", t.dataset_id::text AS "datasetId", t.scenario_key AS "scenarioKey",
  t.task, t.architecture, t.learning_rate AS "learningRate", t.augmentations, t.selection_score AS "selectionScore",
  t.val_auc AS "valAuc", t.val_f1 AS "valF1", t.val_loss AS "valLoss", t.best_epoch AS "bestEpoch", t.metrics,
  t.finished_at AS "finishedAt", COALESCE(t.spec->>'selectionMetric', ${PAPER_METRIC}) AS "selectionMetric", t.trainer,
  CASE WHEN t.spec->>'selectionMetric' = 'valLoss' THEN -t.selection_score ELSE t.selection_score END AS score`;

/** The final training of the same configuration in the same sweep (latest), as JSON or null. */
const FINAL = `(SELECT json_build_object('trialId', f.id, 'status', f.status, 'bestEpoch', f.best_epoch, 'metrics', f.metrics, 'error', f.error)
  FROM trials f WHERE f.sweep_id = t.sweep_id AND f.stage = 'final' AND f.architecture = t.architecture
    AND f.learning_rate = t.learning_rate AND f.augmentations = t.augmentations ORDER BY f.created_at DESC LIMIT 1) AS final`;

/** The trial was ranked by the asked metric ($n), or by the paper's metric of its task when none is asked. */
const metricIs = (n: number) => `COALESCE(t.spec->>'selectionMetric', ${PAPER_METRIC}) = COALESCE($${n}::text, ${PAPER_METRIC})`;

/** Only the trials of one trainer ($n) when one is asked (the same configuration trains alike, not identically, on both). */
const trainerIs = (n: number) => `($${n}::text IS NULL OR t.trainer = $${n}::text)`;

const ORDER = `t.selection_score DESC, t.tiebreak_score DESC NULLS LAST, t.val_loss ASC NULLS LAST, t.position ASC`;

/** The team's dataset named by id or name, or null. */
const DATASET = `(SELECT d.id FROM datasets d WHERE d.team_id = $1::uuid AND (d.name = $2 OR d.id::text = $2) LIMIT 1)`;

export async function datasetExists(db: Db, teamId: string, dataset: string): Promise<boolean> {
  const { rows } = await db.pool.query(`SELECT ${DATASET} AS id`, [teamId, dataset]);
  return rows[0]?.id != null;
}

/** The winner for team × dataset (id or name) × scenario × architecture, or null when none has succeeded. */
export async function bestTrial(db: Db, teamId: string, q: { dataset: string; scenarioKey: string; architecture: string; metric?: string; trainer?: string }): Promise<BestRow | null> {
  // Named: planned once per connection (dashboards ask this all the time).
  const { rows } = await db.pool.query<BestRow>({
    name: "hs_best_trial",
    text: `SELECT ${COLUMNS}, ${FINAL} FROM trials t
     WHERE t.team_id = $1::uuid AND t.dataset_id = ${DATASET} AND t.scenario_key = $3 AND t.architecture = $4
       AND t.status = 'succeeded' AND t.selection_score IS NOT NULL AND t.stage = 'search' AND ${metricIs(5)} AND ${trainerIs(6)}
     ORDER BY ${ORDER} LIMIT 1`,
    values: [teamId, q.dataset, q.scenarioKey, q.architecture, q.metric ?? null, q.trainer ?? null],
  });
  return rows[0] ?? null;
}

/**
 * The best trial per (scenario, architecture) of one dataset: a loose index scan over the same partial index
 * finds the groups (a handful) without reading every trial, then each group's top is one index probe.
 */
export async function leaderboard(db: Db, teamId: string, dataset: string, metric?: string, trainer?: string): Promise<BestRow[]> {
  const { rows: ds } = await db.pool.query<{ id: string | null }>(`SELECT ${DATASET}::text AS id`, [teamId, dataset]);
  const datasetId = ds[0]?.id;
  if (!datasetId) return [];
  const { rows } = await db.pool.query<BestRow>(
    `WITH RECURSIVE groups AS (
       (SELECT t.scenario_key, t.architecture FROM trials t
        WHERE t.team_id = $1::uuid AND t.dataset_id = $2::uuid AND t.status = 'succeeded' AND t.selection_score IS NOT NULL AND t.stage = 'search'
        ORDER BY t.scenario_key, t.architecture LIMIT 1)
       UNION ALL
       SELECT n.scenario_key, n.architecture FROM groups g CROSS JOIN LATERAL (
         SELECT t.scenario_key, t.architecture FROM trials t
         WHERE t.team_id = $1::uuid AND t.dataset_id = $2::uuid AND t.status = 'succeeded' AND t.selection_score IS NOT NULL AND t.stage = 'search'
           AND (t.scenario_key, t.architecture) > (g.scenario_key, g.architecture)
         ORDER BY t.scenario_key, t.architecture LIMIT 1) n)
     SELECT b.* FROM groups g CROSS JOIN LATERAL (
       SELECT ${COLUMNS}, ${FINAL} FROM trials t
       WHERE t.team_id = $1::uuid AND t.dataset_id = $2::uuid AND t.scenario_key = g.scenario_key AND t.architecture = g.architecture
         AND t.status = 'succeeded' AND t.selection_score IS NOT NULL AND t.stage = 'search' AND ${metricIs(3)} AND ${trainerIs(4)}
       ORDER BY ${ORDER} LIMIT 1) b
     ORDER BY b."scenarioKey", b."selectionScore" DESC`,
    [teamId, datasetId, metric ?? null, trainer ?? null],
  );
  return rows;
}
