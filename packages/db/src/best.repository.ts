/**
 * Best-config queries. The order is selectBest's (packages/core): the task's selection metric (AUC for binary,
 * F1 for multiclass) high first, then the other metric, then lower validation loss, then plan position; only
 * succeeded trials with a score compete. Reads the top of the partial index trials_best_config_idx.
 */
import type { Db } from "./client.ts";

export interface BestRow {
  trialId: string;
  sweepId: string;
  scenarioKey: string;
  task: string;
  architecture: string;
  learningRate: number;
  augmentations: string[];
  selectionScore: number;
  valAuc: number | null;
  valF1: number | null;
  valLoss: number | null;
  bestEpoch: number | null;
  metrics: unknown;
  finishedAt: Date | null;
  candidates?: number;
}

const COLUMNS = `t.id::text AS "trialId", t.sweep_id::text AS "sweepId", t.scenario_key AS "scenarioKey", t.task,
  t.architecture, t.learning_rate AS "learningRate", t.augmentations, t.selection_score AS "selectionScore",
  t.val_auc AS "valAuc", t.val_f1 AS "valF1", t.val_loss AS "valLoss", t.best_epoch AS "bestEpoch", t.metrics,
  t.finished_at AS "finishedAt"`;

const ORDER = `t.selection_score DESC, t.tiebreak_score DESC NULLS LAST, t.val_loss ASC NULLS LAST, t.position ASC`;

export async function bestTrial(
  db: Db,
  teamId: string,
  q: { datasetId: string; scenarioKey: string; architecture: string },
): Promise<BestRow | null> {
  const rows = await db.$queryRawUnsafe<BestRow[]>(
    `SELECT ${COLUMNS} FROM trials t
     WHERE t.team_id = $1::uuid AND t.dataset_id = $2::uuid AND t.scenario_key = $3 AND t.architecture = $4
       AND t.status = 'succeeded' AND t.selection_score IS NOT NULL
     ORDER BY ${ORDER} LIMIT 1`,
    teamId, q.datasetId, q.scenarioKey, q.architecture,
  );
  return rows[0] ?? null;
}

/** The best trial per (scenario, architecture) for one dataset: a skip scan over the same index. */
export async function leaderboard(db: Db, teamId: string, datasetId: string): Promise<BestRow[]> {
  return db.$queryRawUnsafe<BestRow[]>(
    `WITH groups AS (
       SELECT DISTINCT scenario_key, architecture FROM trials
       WHERE team_id = $1::uuid AND dataset_id = $2::uuid AND status = 'succeeded' AND selection_score IS NOT NULL)
     SELECT b.*, (SELECT count(*)::int FROM trials c WHERE c.team_id = $1::uuid AND c.dataset_id = $2::uuid
                   AND c.scenario_key = g.scenario_key AND c.architecture = g.architecture AND c.status = 'succeeded') AS candidates
     FROM groups g CROSS JOIN LATERAL (
       SELECT ${COLUMNS} FROM trials t
       WHERE t.team_id = $1::uuid AND t.dataset_id = $2::uuid AND t.scenario_key = g.scenario_key
         AND t.architecture = g.architecture AND t.status = 'succeeded' AND t.selection_score IS NOT NULL
       ORDER BY ${ORDER} LIMIT 1) b
     ORDER BY b."scenarioKey", b."selectionScore" DESC`,
    teamId, datasetId,
  );
}
