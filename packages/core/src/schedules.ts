/** Learning-rate schedules and early stopping, as pure functions and a small state machine. */

/** Step schedule (torch StepLR stepped per epoch): epoch 1..stepSize use baseLr, then ×gamma every stepSize epochs. */
export function stepLearningRate(baseLr: number, epoch: number, s: { stepSize: number; gamma: number }): number {
  if (!Number.isInteger(epoch) || epoch < 1) throw new RangeError(`epoch must be a whole number ≥ 1, got ${epoch}`);
  return baseLr * s.gamma ** Math.floor((epoch - 1) / s.stepSize);
}

export interface EarlyStoppingOptions {
  /** "max" for AUC/F1, "min" for a loss. */
  mode: "max" | "min";
  /** Epochs without improvement before stopping. */
  patience: number;
  /** An improvement must exceed this. @defaultValue 0 */
  minDelta?: number;
}

export interface EarlyStoppingState {
  bestEpoch: number;
  bestValue: number;
  epochsWithoutImprovement: number;
}

/** Says continue/stop after each epoch and remembers the best epoch; its state is plain data (checkpointable). */
export class EarlyStopping {
  state: EarlyStoppingState;
  constructor(
    readonly opts: EarlyStoppingOptions,
    state?: EarlyStoppingState,
  ) {
    if (!Number.isInteger(opts.patience) || opts.patience < 1) throw new RangeError(`patience must be a whole number ≥ 1, got ${opts.patience}`);
    this.state = state ?? { bestEpoch: 0, bestValue: opts.mode === "max" ? -Infinity : Infinity, epochsWithoutImprovement: 0 };
  }

  /** Feed one epoch's monitored value; NaN never counts as an improvement. */
  update(epoch: number, value: number): { improved: boolean; stop: boolean; bestEpoch: number } {
    const d = this.opts.minDelta ?? 0;
    const improved = Number.isFinite(value) && (this.opts.mode === "max" ? value > this.state.bestValue + d : value < this.state.bestValue - d);
    if (improved) this.state = { bestEpoch: epoch, bestValue: value, epochsWithoutImprovement: 0 };
    else this.state = { ...this.state, epochsWithoutImprovement: this.state.epochsWithoutImprovement + 1 };
    return { improved, stop: this.state.epochsWithoutImprovement >= this.opts.patience, bestEpoch: this.state.bestEpoch };
  }
}
