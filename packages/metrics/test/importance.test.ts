/** Variance explained per hyperparameter (one-way ANOVA: η² and chance-corrected ε²) against hand-computed values. */
import { describe, expect, it } from "vitest";
import { hyperparameterImportance, varianceExplained } from "../src/importance.ts";

describe("varianceExplained", () => {
  // Scores 1 2 3 | 5 6 7: mean 4, SS_total 28. Two groups of means 2 and 6: SS_between 24, SS_within 4.
  const scores = [1, 2, 3, 5, 6, 7];
  it("gives η² = SS_between / SS_total and ε² = (SS_between − (k−1)·MS_within) / SS_total", () => {
    const r = varianceExplained(scores, [
      { factor: "lr", levels: ["a", "a", "a", "b", "b", "b"] },
      // on: 1, 5 (mean 3); off: 2, 3, 6, 7 (mean 4.5): SS_between = 2·1 + 4·0.25 = 3, MS_within = 25/4.
      { factor: "flip", levels: [true, false, false, true, false, false] },
      { factor: "crop", levels: [true, true, true, true, true, true] },
    ]);
    expect(r).toMatchObject({ n: 6, enough: true });
    const [lr, flip, crop] = r.factors;
    expect(lr.levels).toBe(2);
    expect(lr.etaSquared).toBeCloseTo(24 / 28, 12);
    expect(lr.epsilonSquared).toBeCloseTo(23 / 28, 12);
    expect(lr.share).toBeCloseTo(23 / 28, 12);
    expect(flip.etaSquared).toBeCloseTo(3 / 28, 12);
    expect(flip.epsilonSquared).toBeCloseTo(-3.25 / 28, 12);
    // No more than chance: shown as 0, not as a misleading bar.
    expect(flip.share).toBe(0);
    expect(crop).toEqual({ factor: "crop", levels: 1, etaSquared: null, epsilonSquared: null, share: null, note: "not varied" });
  });

  it("corrects for the number of levels: ε² takes (k − 1) within-group variances off η², and needs a trial more than levels", () => {
    const r = varianceExplained([1, 2, 3, 4, 5, 6, 7], [{ factor: "id", levels: [1, 2, 3, 4, 5, 6, 6] }]);
    expect(r.factors[0].etaSquared).toBeCloseTo(1 - 0.5 / 28, 12);
    // k = 6 of n = 7: SS_within 0.5 over 1 degree of freedom; (27.5 − 5·0.5) / 28.
    expect(r.factors[0].epsilonSquared).toBeCloseTo(25 / 28, 12);
    expect(varianceExplained([1, 2, 3, 4, 5, 6], [{ factor: "id", levels: [1, 2, 3, 4, 5, 6] }]).factors[0]).toMatchObject({ share: null, note: "too few trials per level" });
  });

  it("gives no shares for too few trials or scores that do not vary", () => {
    expect(varianceExplained([0.8, 0.9, 0.7, 0.6, 0.5], [{ factor: "lr", levels: [1, 1, 2, 2, 3] }])).toEqual({ n: 5, enough: false, reason: "5 finished trials; at least 6 are needed", factors: [] });
    expect(varianceExplained([0.8, 0.8, 0.8, 0.8, 0.8, 0.8], [{ factor: "lr", levels: [1, 1, 2, 2, 3, 3] }])).toMatchObject({ enough: false, reason: "all 6 finished trials scored the same" });
    expect(() => varianceExplained([1, 2, 3, 4, 5, 6], [{ factor: "lr", levels: [1, 2] }])).toThrow(/2 levels for 6 scores/);
  });
});

describe("hyperparameterImportance", () => {
  it("groups by learning rate and by each augmentation on/off", () => {
    const t = (learningRate: number, augmentations: string[], score: number) => ({ learningRate, augmentations, score });
    // Mean 0.65, SS_total 0.175. lr: means 0.8 / 0.5, SS_between 0.135, MS_within 0.01.
    // rotation on (0.9, 0.8, 0.6) / off (0.7, 0.5, 0.4): SS_between 0.081667, MS_within 0.023333.
    const r = hyperparameterImportance(
      [t(0.1, ["rotation"], 0.9), t(0.1, [], 0.7), t(0.1, ["rotation"], 0.8), t(0.01, [], 0.5), t(0.01, ["rotation"], 0.6), t(0.01, [], 0.4)],
      ["rotation", "hflip"],
    );
    expect(r.factors.map((f) => f.factor)).toEqual(["learning rate", "rotation", "hflip"]);
    expect(r.factors[0].etaSquared).toBeCloseTo(0.135 / 0.175, 12);
    expect(r.factors[0].share).toBeCloseTo(0.125 / 0.175, 12);
    expect(r.factors[1].etaSquared).toBeCloseTo(7 / 15, 12);
    expect(r.factors[1].share).toBeCloseTo(1 / 3, 12);
    expect(r.factors[2].note).toBe("not varied");
  });
});
