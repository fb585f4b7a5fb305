/** Learning-rate schedules and early stopping, as pure functions and a small state machine. */
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
  epochsWithoutImprovement: number;
}

export interface EarlyStoppingDecision {
  improved: boolean;
  stop: boolean;
  bestEpoch: number;
}

/**
 * Says continue/stop after each epoch and remembers the best epoch. A value that is not finite (NaN from a
 * diverged model, or an undefined metric) never counts as an improvement but does count towards patience.
 * Ties with the best value are not improvements, so the earliest of equal epochs stays the best.
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
    return { bestEpoch: hasValue ? s.bestEpoch : 0, bestValue: hasValue ? s.bestValue : null, epochsWithoutImprovement: s.epochsWithoutImprovement };
  }

  /** Feed one epoch's monitored value. */
  update(epoch: number, value: number | null | undefined): EarlyStoppingDecision {
    const d = this.opts.minDelta ?? 0;
    const best = this.state.bestValue;
    const finite = typeof value === "number" && Number.isFinite(value);
    const improved = finite && (best === null || (this.opts.mode === "max" ? value > best + d : value < best - d));
    if (improved) this.state = { bestEpoch: epoch, bestValue: value, epochsWithoutImprovement: 0 };
    else this.state = { ...this.state, epochsWithoutImprovement: this.state.epochsWithoutImprovement + 1 };
    return { improved, stop: this.state.epochsWithoutImprovement >= this.opts.patience, bestEpoch: this.state.bestEpoch };
  }

  /** True once `patience` epochs in a row brought no improvement. */
  get shouldStop(): boolean {
    return this.state.epochsWithoutImprovement >= this.opts.patience;
  }
}
