/**
 * A final model's per-image probabilities (trial_predictions): written by the attempt that holds the lease,
 * before its result; a retried attempt overwrites (keyed by trial and split). Readers see only the predictions
 * of the attempt whose result was recorded (the trial succeeded with that attempt), so a lost attempt's rows
 * are never served.
 */
import { LeaseLostError } from "./errors.ts";
import type { Db } from "./client.ts";

export type PredictionSplit = "val" | "test";

export interface SplitPredictionRows {
  split: PredictionSplit;
  /** sha256 of each image, 64 hex digits. */
  images: readonly string[];
  /** True class indices. */
  labels: readonly number[];
  /** n × classes probabilities, row by row. */
  probs: readonly (readonly number[])[];
}

export interface StoredPredictions {
  split: PredictionSplit;
  attempt: number;
  images: string[];
  labels: number[];
  probs: number[][];
}

function digests(images: readonly string[]): Buffer {
  return Buffer.from(images.join(""), "hex");
}

/**
 * Writes (or overwrites) the predictions of `attempt` for each split, in one statement guarded by the lease.
 * Throws LeaseLostError when `attempt` no longer holds the trial.
 */
export async function recordPredictions(db: Db, trialId: string, attempt: number, splits: readonly SplitPredictionRows[]): Promise<void> {
  if (splits.length === 0) return;
  const rows = splits.map((s) => ({
    split: s.split,
    classes: s.probs[0]?.length ?? 0,
    images: digests(s.images).toString("base64"),
    labels: s.labels,
    probs: s.probs.flat(),
  }));
  const { rowCount } = await db.pool.query(
    `WITH lease AS (SELECT id FROM trials WHERE id = $1 AND current_attempt = $2 AND status = 'running' FOR UPDATE)
     INSERT INTO trial_predictions (trial_id, split, attempt, classes, images, labels, probs)
     SELECT lease.id, r.split, $2, r.classes, decode(r.images, 'base64'),
            ARRAY(SELECT jsonb_array_elements_text(r.labels)::smallint), ARRAY(SELECT jsonb_array_elements_text(r.probs)::real)
     FROM lease, jsonb_to_recordset($3::jsonb) AS r(split text, classes int, images text, labels jsonb, probs jsonb)
     ON CONFLICT (trial_id, split) DO UPDATE SET attempt = EXCLUDED.attempt, classes = EXCLUDED.classes, images = EXCLUDED.images,
       labels = EXCLUDED.labels, probs = EXCLUDED.probs, created_at = now()`,
    [trialId, attempt, JSON.stringify(rows)],
  );
  if ((rowCount ?? 0) === 0) throw new LeaseLostError(trialId, attempt);
}

export interface TrialPredictions {
  trial: {
    id: string;
    sweepId: string;
    stage: string;
    status: string;
    task: "binary" | "multiclass";
    architecture: string;
    /** Class names in label order, and the positive class (the sweep's scenario). */
    classes: string[];
    positiveClass: string;
    /** The trial seed (the test report's bootstrap is seeded with it). */
    seed: number;
  };
  /** The stored splits (val, test), empty when none were kept. */
  splits: StoredPredictions[];
}

/**
 * The stored predictions of a team's trial with what scoring them needs, or null when the trial is not the
 * team's. Only the rows of the attempt that recorded the trial's result.
 */
export async function trialPredictions(db: Db, teamId: string, trialId: string): Promise<TrialPredictions | null> {
  const { rows } = await db.pool.query<{
    sweep_id: string; stage: string; status: string; task: "binary" | "multiclass"; architecture: string; scenario: { classes: string[]; positiveClass: string };
    seed: number; split: PredictionSplit | null; attempt: number; classes: number; images: Buffer; labels: number[]; probs: number[];
  }>(
    `SELECT t.sweep_id::text, t.stage::text, t.status::text, t.task, t.architecture, s.scenario, (t.spec->>'seed')::int AS seed,
            p.split, p.attempt, p.classes, p.images, p.labels, p.probs
     FROM trials t JOIN sweeps s ON s.id = t.sweep_id
     LEFT JOIN trial_predictions p ON p.trial_id = t.id AND p.attempt = t.current_attempt AND t.status = 'succeeded'
     WHERE t.id = $1 AND t.team_id = $2 ORDER BY p.split DESC`,
    [trialId, teamId],
  );
  const first = rows[0];
  if (!first) return null;
  const trial = {
    id: trialId, sweepId: first.sweep_id, stage: first.stage, status: first.status, task: first.task, architecture: first.architecture,
    classes: first.scenario.classes, positiveClass: first.scenario.positiveClass, seed: first.seed,
  };
  const splits = rows.filter((r) => r.split !== null).map((r) => {
    const hex = r.images.toString("hex");
    const images = Array.from({ length: r.labels.length }, (_, i) => hex.slice(i * 64, i * 64 + 64));
    const probs = Array.from({ length: r.labels.length }, (_, i) => r.probs.slice(i * r.classes, (i + 1) * r.classes));
    return { split: r.split!, attempt: r.attempt, images, labels: r.labels, probs };
  });
  return { trial, splits };
}
