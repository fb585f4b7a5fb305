/**
 * The best epoch of a training run, by one rule (DESIGN.md, decision 10): an epoch improves on the best so far
 * when the monitored metric rises by more than `minDelta`, or ties it (within `minDelta`) and the validation
 * loss falls. A saturated metric (F1 = 1.0 from epoch 2 on) therefore neither freezes the choice at the first
 * epoch that reached it nor stops training early while the model is still getting better.
 *
 * The same rule picks a search trial's best epoch, drives early stopping, and so decides which weights a final
 * training restores and publishes: the trainer (packages/trainer), core's EarlyStopping and any replay of stored
 * epochs all call `epochImproves`.
 */
import { metricScore, type MetricValues } from "./selection.ts";
import type { SelectionMetric, Task } from "./trainer-contract.ts";

/** How an epoch stands: its monitored score (oriented: higher is better; null when undefined) and its loss. */
export interface EpochStanding {
  value: number | null;
  valLoss: number | null;
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function lossFalls(candidate: number | null, best: number | null): boolean {
  return finite(candidate) && (!finite(best) || candidate < best);
}

/**
 * Whether `candidate` improves on `best` (null: there is no best yet, so the first epoch always is one).
 * A metric that is undefined (null) never beats a defined one; two undefined metrics tie, and the loss decides.
 * Ties are measured against the best epoch's own value.
 */
export function epochImproves(candidate: EpochStanding, best: EpochStanding | null, minDelta = 0): boolean {
  if (best === null) return true;
  const v = finite(candidate.value) ? candidate.value : null;
  const b = finite(best.value) ? best.value : null;
  if (v === null) return b === null && lossFalls(candidate.valLoss, best.valLoss);
  if (b === null) return true;
  if (v > b + minDelta) return true;
  return v >= b - minDelta && lossFalls(candidate.valLoss, best.valLoss);
}

/** An epoch's standing under `metric`: the metric's oriented score in its metrics, and its validation loss. */
export function epochStanding(metric: SelectionMetric, epoch: { valLoss: number; metrics: MetricValues }, task?: Task): EpochStanding {
  return { value: metricScore(metric, { ...epoch.metrics, valLoss: epoch.valLoss }, task), valLoss: finite(epoch.valLoss) ? epoch.valLoss : null };
}

/**
 * Running state of the rule over a sequence of epochs: plain JSON (no ±Infinity), so that it can be checkpointed
 * and a resumed run continues exactly.
 */
export interface EpochSelectionState {
  /** 0 until the first epoch. */
  bestEpoch: number;
  bestValue: number | null;
  bestValLoss: number | null;
  /** Epochs since the last improvement (early stopping's counter). */
  wait: number;
}

export const NO_EPOCH_YET: Readonly<EpochSelectionState> = Object.freeze({ bestEpoch: 0, bestValue: null, bestValLoss: null, wait: 0 });

/** Feeds one epoch to the rule; returns the next state and whether this epoch became the best. */
export function advanceEpochSelection(
  state: EpochSelectionState,
  epoch: number,
  standing: EpochStanding,
  minDelta = 0,
): { state: EpochSelectionState; improved: boolean } {
  const best = state.bestEpoch === 0 ? null : { value: state.bestValue, valLoss: state.bestValLoss ?? null };
  const improved = epochImproves(standing, best, minDelta);
  if (!improved) return { state: { ...state, wait: state.wait + 1 }, improved };
  const value = finite(standing.value) ? standing.value : null;
  return { state: { bestEpoch: epoch, bestValue: value, bestValLoss: finite(standing.valLoss) ? standing.valLoss : null, wait: 0 }, improved };
}

/**
 * The best epoch of a recorded sequence under the rule (0 for an empty one), and where early stopping with
 * `patience` would have stopped it (null: it would not have).
 */
export function bestEpochOf(
  epochs: readonly { epoch: number; valLoss: number; metrics: MetricValues }[],
  metric: SelectionMetric,
  opts: { task?: Task; minDelta?: number; patience?: number } = {},
): { bestEpoch: number; stoppedAt: number | null } {
  let state: EpochSelectionState = NO_EPOCH_YET;
  for (const e of epochs) {
    state = advanceEpochSelection(state, e.epoch, epochStanding(metric, e, opts.task), opts.minDelta ?? 0).state;
    if (opts.patience !== undefined && state.wait >= opts.patience) return { bestEpoch: state.bestEpoch, stoppedAt: e.epoch };
  }
  return { bestEpoch: state.bestEpoch, stoppedAt: null };
}
