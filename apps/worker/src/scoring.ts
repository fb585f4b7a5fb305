/**
 * The worker as the one scorer: metrics come from the probabilities a trainer reports (Predictions), scored with
 * @hypersweep/metrics, so they do not depend on which trainer ran. A trainer that reports no predictions keeps
 * its own `metrics` (and `test`), as before.
 */
import type { Predictions, TrainerMessage, TrainerSpec } from "@hypersweep/core";
import { scoreSplit, scoreTest, toSplitScores, type ScoringContext } from "@hypersweep/metrics";
import type { EpochRecord, SplitPredictionRows } from "@hypersweep/db";

type EpochMessage = Extract<TrainerMessage, { type: "epoch" }>;
type ResultMessage = Extract<TrainerMessage, { type: "result" }>;

/** Predictions that do not fit the trial's scenario: the attempt fails with this message. */
export class PredictionsMismatchError extends Error {}

export function scoringContext(spec: TrainerSpec): ScoringContext {
  const { scenario } = spec.data;
  return { task: spec.task, classes: scenario.classes, positiveClass: scenario.positiveClass };
}

function checked(p: Predictions, ctx: ScoringContext, where: string): Predictions {
  const k = p.probs[0]?.length ?? ctx.classes.length;
  if (k !== ctx.classes.length) {
    throw new PredictionsMismatchError(`${where}: predictions have ${k} classes, the scenario has ${ctx.classes.length} (${ctx.classes.join(", ")})`);
  }
  if (p.images.length === 0) throw new PredictionsMismatchError(`${where}: predictions hold no images`);
  return p;
}

/** The epoch as stored: its metrics scored from its validation predictions when it carries them. */
export function scoreEpoch(spec: TrainerSpec, m: EpochMessage): EpochRecord {
  const metrics = m.predictions
    ? scoreSplit(toSplitScores(checked(m.predictions, scoringContext(spec), `epoch ${m.epoch}`)), scoringContext(spec)).metrics
    : m.metrics;
  return { epoch: m.epoch, trainLoss: m.trainLoss, valLoss: m.valLoss, lr: m.lr, durationMs: m.durationMs, metrics };
}

export interface ScoredResult {
  /** Validation metrics of the kept weights plus valLoss, and `test` (the test report) when there is one. */
  metrics: Record<string, unknown>;
  /** The validation metrics alone (what selection scores read). */
  valMetrics: Record<string, unknown>;
  /** Predictions to keep in Postgres. */
  predictions: SplitPredictionRows[];
}

/**
 * The result as stored. Validation metrics: scored from `predictions.val`, else the trainer's; valLoss: the
 * trainer's, else that of the best epoch as reported. Test: scored from `predictions.test` (bootstrap seeded by
 * the trial seed), else the trainer's own report.
 */
export function scoreResult(spec: TrainerSpec, r: ResultMessage, epochs: readonly EpochRecord[]): ScoredResult {
  const ctx = scoringContext(spec);
  const val = r.predictions?.val && checked(r.predictions.val, ctx, "result (val)");
  const test = r.predictions?.test && checked(r.predictions.test, ctx, "result (test)");
  const valLoss = r.metrics.valLoss ?? epochs.find((e) => e.epoch === r.bestEpoch)?.valLoss ?? null;
  const valMetrics = val ? { ...scoreSplit(toSplitScores(val), ctx).metrics, valLoss } : { ...r.metrics, valLoss };
  const testReport = test ? scoreTest(toSplitScores(test), ctx, spec.seed) : r.test;
  const predictions: SplitPredictionRows[] = [];
  if (val) predictions.push({ split: "val", ...val });
  if (test) predictions.push({ split: "test", ...test });
  return { metrics: { ...valMetrics, ...(testReport ? { test: testReport } : {}) }, valMetrics, predictions };
}
