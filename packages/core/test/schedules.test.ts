import { describe, expect, it } from "vitest";
import { EarlyStopping, ScheduleError, stepLearningRate } from "../src/index.ts";

describe("stepLearningRate", () => {
  it("is the paper's schedule for 30 search epochs: 7 epochs per step, ×0.1", () => {
    const lrs = Array.from({ length: 30 }, (_, i) => stepLearningRate(1e-3, i + 1, { stepSize: 7, gamma: 0.1 }));
    // log10 of each epoch's rate: 7 epochs at each of 1e-3 … 1e-6, then epochs 29–30 at 1e-7.
    const exponents = lrs.map((v) => Math.round(Math.log10(v)));
    expect(exponents).toEqual([...Array(7).fill(-3), ...Array(7).fill(-4), ...Array(7).fill(-5), ...Array(7).fill(-6), -7, -7]);
    expect(lrs.slice(0, 7).every((v) => v === 1e-3)).toBe(true);
    expect(stepLearningRate(1e-3, 29, { stepSize: 7, gamma: 0.1 })).toBeCloseTo(1e-7, 20);
  });
  it("names a bad argument with a ScheduleError (still a RangeError)", () => {
    const s = { stepSize: 7, gamma: 0.1 };
    expect(() => stepLearningRate(1e-3, 0, s)).toThrow(ScheduleError);
    expect(() => stepLearningRate(1e-3, 0, s)).toThrow("epoch must be a whole number ≥ 1, got 0");
    expect(() => stepLearningRate(1e-3, 1, { stepSize: 0, gamma: 0.1 })).toThrow(/schedule\.stepSize/);
    expect(() => stepLearningRate(1e-3, 1, { stepSize: 7, gamma: 0 })).toThrow(RangeError);
    try {
      stepLearningRate(-1, 1, s);
    } catch (e) {
      expect((e as ScheduleError).code).toBe("SCHEDULE_INVALID");
    }
  });
});

describe("EarlyStopping", () => {
  /** Feeds values one by one; returns the epoch at which it said stop (or null) and the best epoch. */
  function run(es: EarlyStopping, values: (number | null)[], firstEpoch = 1) {
    for (let i = 0; i < values.length; i++) {
      const d = es.update(firstEpoch + i, values[i]);
      if (d.stop) return { stoppedAt: firstEpoch + i, bestEpoch: d.bestEpoch };
    }
    return { stoppedAt: null, bestEpoch: es.state.bestEpoch };
  }

  it("with the paper's patience of 10, stops 10 epochs after the last improvement", () => {
    const auc = [0.6, 0.7, 0.75, ...new Array<number>(20).fill(0.74)];
    expect(run(new EarlyStopping({ mode: "max", patience: 10 }), auc)).toEqual({ stoppedAt: 13, bestEpoch: 3 });
  });
  it("min mode with minDelta: an improvement must beat the best by more than minDelta", () => {
    expect(run(new EarlyStopping({ mode: "min", patience: 2, minDelta: 0.05 }), [1.0, 0.97, 0.9, 0.89, 0.88])).toEqual({ stoppedAt: 5, bestEpoch: 3 });
  });
  it("keeps the earliest of equal best values", () => {
    expect(run(new EarlyStopping({ mode: "max", patience: 5 }), [0.8, 0.8, 0.8])).toEqual({ stoppedAt: null, bestEpoch: 1 });
  });
  it("a diverged (NaN) or undefined (null) metric never improves, even first, but counts towards patience", () => {
    const es = new EarlyStopping({ mode: "max", patience: 3 });
    expect(es.update(1, Number.NaN)).toEqual({ improved: false, stop: false, bestEpoch: 0 });
    expect(es.update(2, null)).toEqual({ improved: false, stop: false, bestEpoch: 0 });
    expect(es.update(3, 0.5)).toEqual({ improved: true, stop: false, bestEpoch: 3 });
  });
  it("resumes exactly from a state that went through JSON (a checkpoint), even before any finite value", () => {
    const values = [Number.NaN, 0.6, 0.65, 0.64, 0.66, 0.62, 0.61, 0.6, 0.6];
    const straight = run(new EarlyStopping({ mode: "max", patience: 3 }), values);
    expect(straight).toEqual({ stoppedAt: 8, bestEpoch: 5 });
    for (let cut = 1; cut < straight.stoppedAt!; cut++) {
      const first = new EarlyStopping({ mode: "max", patience: 3 });
      run(first, values.slice(0, cut));
      const restored = new EarlyStopping({ mode: "max", patience: 3 }, JSON.parse(JSON.stringify(first.state)));
      expect(run(restored, values.slice(cut), cut + 1)).toEqual(straight);
    }
  });
  it("accepts an older state whose 'no value yet' was -Infinity (or null after JSON)", () => {
    const legacy = new EarlyStopping({ mode: "max", patience: 2 }, { bestEpoch: 0, bestValue: -Infinity, epochsWithoutImprovement: 1 });
    expect(legacy.update(2, 0.1)).toEqual({ improved: true, stop: false, bestEpoch: 2 });
  });
  it("rejects bad options by name", () => {
    expect(() => new EarlyStopping({ mode: "max", patience: 0 })).toThrow("patience must be a whole number ≥ 1, got 0");
    expect(() => new EarlyStopping({ mode: "max", patience: 1, minDelta: -1 })).toThrow(/minDelta/);
  });
});
