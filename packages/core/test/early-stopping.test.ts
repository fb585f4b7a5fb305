import { describe, expect, it } from "vitest";
import {
  decideAtRung, DATA_STOCK_2020, finalTrainerSpec, planTrials, plannedHalving, resolveSweepSpec, SpecError, standingAtRung, type RungStanding,
} from "../src/index.ts";

const input = { architectures: ["small_cnn"], task: "binary" as const, modality: "ct" as const, seed: 7 };

function issuesOf(overrides: unknown): Array<{ path: string; message: string }> {
  try {
    resolveSweepSpec({ ...input, overrides });
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  throw new Error("expected the spec to be refused");
}

const standing = (position: number, selectionScore: number | null, extra: Partial<RungStanding> = {}): RungStanding => ({
  trialId: `t${position}`, position, bestEpoch: 3, selectionScore, tiebreakScore: 0.5, valLoss: 0.5, ...extra,
});

describe("the early-stopping option (ASHA)", () => {
  it("is off in the data-stock-2020 preset: no option stored, no rungs planned, the plan hash unchanged", () => {
    expect(DATA_STOCK_2020.earlyStopping).toBeNull();
    const spec = resolveSweepSpec(input);
    expect("earlyStopping" in spec).toBe(false);
    const plan = planTrials(spec);
    expect(plan.trials.every((t) => !("halving" in t))).toBe(true);
    const on = resolveSweepSpec({ ...input, overrides: { earlyStopping: { rungs: [3, 9, 27], eta: 3 } } });
    expect(on.earlyStopping).toEqual({ rungs: [3, 9, 27], eta: 3 });
    expect(planTrials(on).trials.every((t) => plannedHalving(t)?.eta === 3)).toBe(true);
    expect(planTrials(on).planHash).not.toBe(plan.planHash);
  });

  it("refuses bad shapes naming the field: rungs not strictly increasing, not below searchEpochs, eta below 2", () => {
    expect(issuesOf({ earlyStopping: { rungs: [3, 3, 9], eta: 3 } })[0]).toMatchObject({ path: "overrides.earlyStopping.rungs", message: expect.stringMatching(/strictly increasing/) });
    expect(issuesOf({ earlyStopping: { rungs: [9, 3], eta: 3 } })[0]!.path).toBe("overrides.earlyStopping.rungs");
    expect(issuesOf({ earlyStopping: { rungs: [3, 9], eta: 1 } })[0]!.path).toBe("overrides.earlyStopping.eta");
    expect(issuesOf({ earlyStopping: { rungs: [3, 9], eta: 2.5 } })[0]!.path).toBe("overrides.earlyStopping.eta");
    expect(issuesOf({ earlyStopping: { rungs: [], eta: 3 } })[0]!.path).toBe("overrides.earlyStopping.rungs");
    expect(issuesOf({ earlyStopping: { rungs: [3], eta: 3, grace: 1 } })[0]!.path).toBe("overrides.earlyStopping");
    // The preset's 30 epochs: a rung at 30 has nothing left to stop; with searchEpochs 10, rung 27 is past it.
    expect(issuesOf({ earlyStopping: { rungs: [3, 9, 30], eta: 3 } })).toEqual([{ path: "overrides.earlyStopping.rungs.2", message: expect.stringMatching(/not below searchEpochs \(30\)/) }]);
    expect(issuesOf({ searchEpochs: 10, earlyStopping: { rungs: [3, 9, 27], eta: 3 } })[0]!.path).toBe("overrides.earlyStopping.rungs.2");
  });

  it("a final training carries no rungs: it runs to convergence", () => {
    const on = resolveSweepSpec({ ...input, overrides: { earlyStopping: { rungs: [2], eta: 2 } } });
    const trial = planTrials(on).trials[0]! as unknown as Record<string, unknown>;
    expect(plannedHalving(trial)).toEqual({ rungs: [2], eta: 2 });
    expect(plannedHalving(finalTrainerSpec(trial, on))).toBeNull();
  });
});

describe("the rung decision", () => {
  it("lets the first eta - 1 trials at a rung continue whatever their score", () => {
    expect(decideAtRung(standing(0, 0.1), [], 3)).toEqual({ continues: true, rank: 1, reached: 1, kept: 1 });
    expect(decideAtRung(standing(1, 0.05), [standing(0, 0.9)], 3)).toEqual({ continues: true, rank: 2, reached: 2, kept: 2 });
  });

  it("from eta on, keeps rank <= floor(n / eta), itself counted in n", () => {
    const earlier = [standing(0, 0.9), standing(1, 0.5)];
    expect(decideAtRung(standing(2, 0.95), earlier, 3)).toEqual({ continues: true, rank: 1, reached: 3, kept: 1 });
    expect(decideAtRung(standing(2, 0.6), earlier, 3)).toEqual({ continues: false, rank: 2, reached: 3, kept: 1 });
    const five = [0.9, 0.8, 0.7, 0.6, 0.5].map((v, i) => standing(i, v));
    expect(decideAtRung(standing(5, 0.85), five, 3)).toMatchObject({ continues: true, rank: 2, reached: 6, kept: 2 });
    expect(decideAtRung(standing(5, 0.75), five, 3)).toMatchObject({ continues: false, rank: 3, reached: 6, kept: 2 });
    expect(decideAtRung(standing(5, 0.75), five, 2)).toMatchObject({ continues: true, rank: 3, reached: 6, kept: 3 });
  });

  it("ranks as the winner is chosen: score, then tie-break, then lower loss, then plan position; an undefined score is last", () => {
    const earlier = [standing(0, 0.8, { tiebreakScore: 0.6 }), standing(1, 0.8, { tiebreakScore: 0.5, valLoss: 0.2 })];
    expect(decideAtRung(standing(2, 0.8, { tiebreakScore: 0.5, valLoss: 0.1 }), earlier, 3).rank).toBe(2);
    expect(decideAtRung(standing(2, 0.8, { tiebreakScore: 0.5, valLoss: 0.2 }), earlier, 3).rank).toBe(3);
    expect(decideAtRung(standing(2, null), [standing(0, 0.01), standing(1, -5)], 3).rank).toBe(3);
  });
});

describe("a trial's standing at a rung", () => {
  const epoch = (n: number, auc: number, valLoss: number) => ({ epoch: n, valLoss, metrics: { auc, f1: auc - 0.1 } });

  it("is its best epoch up to the rung by the epoch rule (a tie with lower loss improves), later epochs ignored", () => {
    const epochs = [epoch(1, 0.6, 0.9), epoch(2, 0.8, 0.7), epoch(3, 0.8, 0.6), epoch(4, 0.99, 0.1)];
    const s = standingAtRung({ trialId: "a", position: 4 }, epochs, 3, { metric: "auc", task: "binary" });
    expect(s).toMatchObject({ trialId: "a", position: 4, bestEpoch: 3, selectionScore: 0.8, valLoss: 0.6 });
    expect(s.tiebreakScore).toBeCloseTo(0.7);
    expect(s.metrics).toEqual({ auc: 0.8, f1: expect.closeTo(0.7), valLoss: 0.6 });
    // minDelta: a rise within it is no improvement, and the loss decides.
    expect(standingAtRung({ trialId: "a", position: 4 }, [epoch(1, 0.8, 0.5), epoch(2, 0.805, 0.6)], 2, { metric: "auc", task: "binary", minDelta: 0.01 }).bestEpoch).toBe(1);
  });

  it("orients validation loss (lower is better) as selectBest does", () => {
    const s = standingAtRung({ trialId: "b", position: 0 }, [epoch(1, 0.6, 0.4), epoch(2, 0.7, 0.5)], 2, { metric: "valLoss", task: "binary" });
    expect(s).toMatchObject({ bestEpoch: 1, selectionScore: -0.4 });
  });
});
