/**
 * The bookkeeping of a trial between epochs: learning-rate schedule, best epoch, early stopping. All of it is
 * plain data (TrialProgress) so that it goes into a checkpoint as JSON and a resumed trial continues exactly.
 *
 * The best epoch and early stopping follow core's epoch rule (advanceEpochSelection): an epoch improves when the
 * selection metric rises by more than minDelta, or ties it (within minDelta) and the validation loss falls. The
 * same rule picks a search trial's best epoch (minDelta 0) and a final training's, whose weights are restored.
 */
import { advanceEpochSelection, epochStanding, stepLearningRate, type EpochRecord, type SelectionMetric, type Task, type TrainerSpec } from "@hypersweep/core";

export type MetricValues = Record<string, number | null>;

/** One completed epoch, as reported in its `epoch` message (the contract's type). */
export type { EpochRecord } from "@hypersweep/core";

export interface TrialProgress {
  /** Last completed epoch (0 = none). */
  epoch: number;
  /** Best epoch by the selection metric so far (0 = none yet) and its value (null: the metric was undefined). */
  bestEpoch: number;
  bestValue: number | null;
  /** The best epoch's validation loss (what breaks a tie on the metric); absent in older checkpoints. */
  bestValLoss?: number | null;
  /** Completed epochs since the last improvement (early stopping's counter). */
  wait: number;
  /** True once early stopping fired; no further epochs run. */
  stopped: boolean;
  history: EpochRecord[];
}

export function initialProgress(): TrialProgress {
  return { epoch: 0, bestEpoch: 0, bestValue: null, bestValLoss: null, wait: 0, stopped: false, history: [] };
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
 * Records a completed epoch under the epoch rule (minDelta 0 for search trials). The first epoch always starts
 * the record, so a trial always has a best epoch; an undefined metric (null) never beats a defined one.
 * `bestValue` is the metric's oriented score (a validation loss is stored negated).
 */
export function recordEpoch(
  p: TrialProgress,
  rec: EpochRecord,
  selectionMetric: SelectionMetric,
  rule: { patience: number; minDelta: number } | null,
  task?: Task,
): TrialProgress {
  const state = { bestEpoch: p.bestEpoch, bestValue: p.bestValue, bestValLoss: p.bestValLoss ?? null, wait: p.wait };
  const next = advanceEpochSelection(state, rec.epoch, epochStanding(selectionMetric, rec, task), rule?.minDelta ?? 0).state;
  return {
    epoch: rec.epoch,
    ...next,
    stopped: rule !== null && next.wait >= rule.patience,
    history: [...p.history, rec],
  };
}

/** Whether another epoch should run. */
export function shouldContinue(p: TrialProgress, maxEpochs: number): boolean {
  return !p.stopped && p.epoch < maxEpochs;
}
