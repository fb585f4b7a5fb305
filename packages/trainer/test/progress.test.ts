import { describe, expect, it } from "vitest";
import { initialProgress, learningRateAt, recordEpoch, type EpochRecord, type TrialProgress } from "../src/progress.ts";
import { deriveSeed, Mulberry32 } from "../src/rng.ts";

const rec = (epoch: number, auc: number | null): EpochRecord => ({
  epoch, trainLoss: 1, valLoss: 1, lr: 1e-3, durationMs: 1, metrics: { auc, f1: 0.5 },
});

function run(values: (number | null)[], rule: { patience: number; minDelta: number } | null): TrialProgress {
  return values.reduce<TrialProgress>((p, v, i) => recordEpoch(p, rec(i + 1, v), "auc", rule), initialProgress());
}

describe("learningRateAt (PyTorch StepLR stepped per epoch)", () => {
  it("keeps the base rate for the first stepSize epochs, then multiplies by gamma each stepSize epochs", () => {
    const s = { stepSize: 7, gamma: 0.1 };
    const got = [1, 7, 8, 14, 15, 30].map((e) => learningRateAt(1e-3, e, s));
    const want = [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-7];
    got.forEach((lr, i) => expect(lr / want[i]!).toBeCloseTo(1, 12));
  });
});

describe("best epoch and early stopping", () => {
  it("picks the highest selection metric, the earlier epoch on ties", () => {
    expect(run([0.7, 0.9, 0.9, 0.8], null).bestEpoch).toBe(2);
  });

  it("never lets an undefined metric (null) beat a defined one, but records the first epoch as best so far", () => {
    expect(run([null, null], null)).toMatchObject({ bestEpoch: 1, bestValue: null });
    expect(run([null, 0.6, null], null)).toMatchObject({ bestEpoch: 2, bestValue: 0.6 });
  });

  it("stops after `patience` epochs without an improvement larger than minDelta", () => {
    const p = run([0.7, 0.8, 0.805, 0.79], { patience: 2, minDelta: 0.01 });
    expect(p).toMatchObject({ bestEpoch: 2, wait: 2, stopped: true, epoch: 4 });
    expect(run([0.7, 0.8, 0.85, 0.79], { patience: 2, minDelta: 0.01 }).stopped).toBe(false);
  });

  it("search trials (no rule) never stop early", () => {
    expect(run([0.9, 0.1, 0.1, 0.1, 0.1], null).stopped).toBe(false);
  });
});

describe("seeded randomness", () => {
  it("Mulberry32 continues the same stream after its state is saved and restored", () => {
    const a = new Mulberry32(42);
    a.next();
    const saved = a.state;
    const expected = [a.next(), a.next()];
    const b = new Mulberry32(0);
    b.state = saved;
    expect([b.next(), b.next()]).toEqual(expected);
  });

  it("derived seeds differ per stream and per seed", () => {
    expect(deriveSeed(7, 1)).not.toBe(deriveSeed(7, 2));
    expect(deriveSeed(7, 1)).not.toBe(deriveSeed(8, 1));
    expect(deriveSeed(7, 1)).toBe(deriveSeed(7, 1));
  });
});

describe("the epoch rule in a trial's progress", () => {
  const at = (epoch: number, auc: number, valLoss: number): EpochRecord => ({ epoch, trainLoss: 1, valLoss, lr: 1e-3, durationMs: 1, metrics: { auc, f1: 0.5 } });
  const feed = (p: TrialProgress, recs: EpochRecord[], rule: { patience: number; minDelta: number } | null) =>
    recs.reduce((q, r) => recordEpoch(q, r, "auc", rule), p);

  it("a saturated metric with a falling loss moves the best epoch on and keeps training going", () => {
    const recs = [at(1, 0.9, 0.6), at(2, 1, 0.4), at(3, 1, 0.3), at(4, 1, 0.2), at(5, 1, 0.25), at(6, 1, 0.3)];
    expect(feed(initialProgress(), recs, { patience: 3, minDelta: 0 })).toMatchObject({ bestEpoch: 4, bestValLoss: 0.2, wait: 2, stopped: false });
    expect(feed(initialProgress(), [...recs, at(7, 1, 0.35)], { patience: 3, minDelta: 0 })).toMatchObject({ bestEpoch: 4, stopped: true });
  });

  it("resumes from a checkpoint written before the loss was kept: the next epoch with a lower loss wins a tie", () => {
    const legacy = { epoch: 2, bestEpoch: 2, bestValue: 1, wait: 0, stopped: false, history: [] } as TrialProgress;
    expect(recordEpoch(legacy, at(3, 1, 0.1), "auc", null).bestEpoch).toBe(3);
  });

  it("validation loss as the metric: the lowest loss wins, stored negated", () => {
    const p = [at(1, 0.5, 0.9), at(2, 0.5, 0.3), at(3, 0.9, 0.5)].reduce((q, r) => recordEpoch(q, r, "valLoss", null), initialProgress());
    expect(p).toMatchObject({ bestEpoch: 2, bestValue: -0.3 });
  });
});
