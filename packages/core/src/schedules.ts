/** Learning-rate schedules and early stopping, as pure functions and a small state machine. */
import { epochImproves } from "./epoch-selection.ts";
import { ScheduleError } from "./errors.ts";

function check(ok: boolean, message: string): void {
  if (!ok) throw new ScheduleError(message);
}

/**
 * Step schedule (PyTorch's StepLR stepped once per epoch). Epochs are numbered from 1, as in the trainer's
 * `epoch` messages: epochs 1..stepSize run at baseLr, the next stepSize epochs at baseLr × gamma, and so on.
 */
export function stepLearningRate(baseLr: number, epoch: number, s: { stepSize: number; gamma: number }): number {
  check(Number.isInteger(epoch) && epoch >= 1, `epoch must be a whole number ≥ 1, got ${epoch}`);
  check(Number.isFinite(baseLr) && baseLr > 0, `baseLr must be a positive number, got ${baseLr}`);
  check(Number.isInteger(s.stepSize) && s.stepSize >= 1, `schedule.stepSize must be a whole number ≥ 1, got ${s.stepSize}`);
  check(s.gamma > 0 && s.gamma <= 1, `schedule.gamma must be in (0, 1], got ${s.gamma}`);
  return baseLr * s.gamma ** Math.floor((epoch - 1) / s.stepSize);
}

export interface EarlyStoppingOptions {
  /** "max" for AUC/F1, "min" for a loss. */
  mode: "max" | "min";
  /** Epochs without improvement after which training stops (the paper: 10). */
  patience: number;
  /** An improvement must beat the best value by more than this. @defaultValue 0 */
  minDelta?: number;
  /** Name of the monitored metric, for messages and checkpoints only. @defaultValue undefined */
  metric?: string;
}

/**
 * Plain, JSON-safe data, so that it can go into a checkpoint and a resumed trial continues exactly: "no value
 * yet" is `bestValue: null` and `bestEpoch: 0` (never ±Infinity, which JSON would turn into null).
 */
export interface EarlyStoppingState {
  bestEpoch: number;
  bestValue: number | null;
  /** The best epoch's validation loss (what breaks a tie on the monitored value); absent in older states. */
  bestValLoss?: number | null;
  epochsWithoutImprovement: number;
}

export interface EarlyStoppingDecision {
  improved: boolean;
  stop: boolean;
  bestEpoch: number;
}

/**
 * Says continue/stop after each epoch and remembers the best epoch, by the epoch rule of epoch-selection.ts: an
 * improvement beats the best value by more than minDelta, or ties it (within minDelta) while the validation
 * loss (when given) falls. A value that is not finite (NaN from a diverged model, or an undefined metric) never
 * beats a finite one but does count towards patience. Without losses, ties keep the earliest epoch.
 */
export class EarlyStopping {
  state: EarlyStoppingState;
  constructor(
    readonly opts: EarlyStoppingOptions,
    state?: EarlyStoppingState,
  ) {
    check(opts.mode === "max" || opts.mode === "min", `mode must be "max" or "min", got ${String(opts.mode)}`);
    check(Number.isInteger(opts.patience) && opts.patience >= 1, `patience must be a whole number ≥ 1, got ${opts.patience}`);
    const d = opts.minDelta ?? 0;
    check(Number.isFinite(d) && d >= 0, `minDelta must be a number ≥ 0, got ${d}`);
    this.state = state ? EarlyStopping.restore(state) : { bestEpoch: 0, bestValue: null, epochsWithoutImprovement: 0 };
  }

  /** Accepts a state read back from a checkpoint (older ones may hold ±Infinity or null for "no value yet"). */
  private static restore(s: EarlyStoppingState): EarlyStoppingState {
    const hasValue = typeof s.bestValue === "number" && Number.isFinite(s.bestValue);
    const bestValLoss = typeof s.bestValLoss === "number" && Number.isFinite(s.bestValLoss) ? s.bestValLoss : null;
    return { bestEpoch: hasValue ? s.bestEpoch : 0, bestValue: hasValue ? s.bestValue : null, bestValLoss: hasValue ? bestValLoss : null, epochsWithoutImprovement: s.epochsWithoutImprovement };
  }

  /** Feed one epoch's monitored value, and its validation loss when the loss should break ties. */
  update(epoch: number, value: number | null | undefined, valLoss?: number | null): EarlyStoppingDecision {
    const finite = typeof value === "number" && Number.isFinite(value);
    // Oriented so that higher is better; an epoch without a finite value never starts the record.
    const sign = this.opts.mode === "max" ? 1 : -1;
    const best = this.state.bestValue === null ? null : { value: sign * this.state.bestValue, valLoss: this.state.bestValLoss ?? null };
    const improved = finite && epochImproves({ value: sign * value, valLoss: valLoss ?? null }, best, this.opts.minDelta ?? 0);
    if (improved) this.state = { bestEpoch: epoch, bestValue: value, bestValLoss: valLoss ?? null, epochsWithoutImprovement: 0 };
    else this.state = { ...this.state, epochsWithoutImprovement: this.state.epochsWithoutImprovement + 1 };
    return { improved, stop: this.state.epochsWithoutImprovement >= this.opts.patience, bestEpoch: this.state.bestEpoch };
  }

  /** True once `patience` epochs in a row brought no improvement. */
  get shouldStop(): boolean {
    return this.state.epochsWithoutImprovement >= this.opts.patience;
  }
}
