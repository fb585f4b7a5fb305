/**
 * The bookkeeping of a trial between epochs: learning-rate schedule, best epoch, early stopping. All of it is
 * plain data (TrialProgress) so that it goes into a checkpoint as JSON and a resumed trial continues exactly.
 *
 * Early stopping is kept here rather than in @hypersweep/core's EarlyStopping class because its state starts at
 * bestValue = −Infinity, which JSON.stringify turns into null (a resumed trial would compare against null); here
 * "no value yet / undefined metric" is an explicit null, and the same rule also picks the search stage's best
 * epoch (ties: the earlier epoch).
 */
import { stepLearningRate, type EpochRecord, type TrainerSpec } from "@hypersweep/core";

export type MetricValues = Record<string, number | null>;

/** One completed epoch, as reported in its `epoch` message (the contract's type). */
export type { EpochRecord } from "@hypersweep/core";

export interface TrialProgress {
  /** Last completed epoch (0 = none). */
  epoch: number;
  /** Best epoch by the selection metric so far (0 = none yet) and its value (null: the metric was undefined). */
  bestEpoch: number;
  bestValue: number | null;
  /** Completed epochs since the last improvement (early stopping's counter). */
  wait: number;
  /** True once early stopping fired; no further epochs run. */
  stopped: boolean;
  history: EpochRecord[];
}

export function initialProgress(): TrialProgress {
  return { epoch: 0, bestEpoch: 0, bestValue: null, wait: 0, stopped: false, history: [] };
}

/**
 * PyTorch's StepLR stepped once per epoch (`stepLearningRate` of @hypersweep/core): epochs 1…stepSize run at the
 * base rate, the next stepSize at base × gamma, and so on. `epoch` is 1-based.
 */
export function learningRateAt(baseLr: number, epoch: number, schedule: TrainerSpec["schedule"]): number {
  return stepLearningRate(baseLr, epoch, schedule);
}

/** Early stopping applies to final trainings only; search trials run exactly `epochs` epochs. */
export function stoppingRule(spec: TrainerSpec): { patience: number; minDelta: number } | null {
  if (spec.stage !== "final" || !spec.earlyStopping) return null;
  return { patience: spec.earlyStopping.patience, minDelta: spec.earlyStopping.minDelta };
}

/**
 * Records a completed epoch. The best epoch changes only when the selection metric beats the best so far by more
 * than minDelta (0 for search trials), so ties keep the EARLIER epoch; an undefined metric (null) never improves.
 */
export function recordEpoch(
  p: TrialProgress,
  rec: EpochRecord,
  selectionMetric: string,
  rule: { patience: number; minDelta: number } | null,
): TrialProgress {
  const value = rec.metrics[selectionMetric] ?? null;
  const improved =
    p.bestEpoch === 0 || (value !== null && (p.bestValue === null || value > p.bestValue + (rule?.minDelta ?? 0)));
  const wait = improved ? 0 : p.wait + 1;
  return {
    epoch: rec.epoch,
    bestEpoch: improved ? rec.epoch : p.bestEpoch,
    bestValue: improved ? value : p.bestValue,
    wait,
    stopped: rule !== null && wait >= rule.patience,
    history: [...p.history, rec],
  };
}

/** Whether another epoch should run. */
export function shouldContinue(p: TrialProgress, maxEpochs: number): boolean {
  return !p.stopped && p.epoch < maxEpochs;
}
