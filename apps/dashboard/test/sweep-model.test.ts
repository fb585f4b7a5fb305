/** The sweep page's pure model: which trials hyperparameter importance rests on. */
import { describe, expect, it } from "vitest";
import { importanceTrials, selectionCurve, shownScore, type TrialRow } from "../web/pages/sweep-model.ts";

const row = (position: number, extra: Partial<TrialRow>): TrialRow => ({
  id: `t${position}`, position, architecture: "resnet18", learningRate: 1e-3, augmentations: ["hflip"], stage: "search", status: "succeeded",
  attemptCount: 1, backend: "fake", bestEpoch: 3, epochsDone: 3, valAuc: 0.8, valF1: 0.7, valLoss: 0.5, selectionScore: 0.8, error: null, stoppedEarlyAt: null, ...extra,
});

describe("importanceTrials", () => {
  it("keeps finished search trials trained to the end and counts those stopped early apart", () => {
    const r = importanceTrials([
      row(0, { selectionScore: 0.9 }),
      row(1, { selectionScore: 0.6, stoppedEarlyAt: 3 }),
      row(2, { status: "running", selectionScore: null }),
      row(3, { status: "failed", selectionScore: null }),
      row(4, { stage: "final", selectionScore: 0.95 }),
      row(5, { learningRate: 1e-4, augmentations: [], selectionScore: 0.7 }),
    ]);
    expect(r.trials).toEqual([
      { learningRate: 1e-3, augmentations: ["hflip"], score: 0.9 },
      { learningRate: 1e-4, augmentations: [], score: 0.7 },
    ]);
    expect(r.stoppedEarly).toBe(1);
  });
});

describe("the score a chart shows", () => {
  it("is the validation loss itself for loss-decided sweeps (the API's selectionScore negates it), the metric as is otherwise", () => {
    // The API orients selectionScore so that higher is better: a loss of 0.42 arrives as -0.42.
    expect(shownScore(row(0, { selectionScore: -0.42 }), "valLoss")).toBe(0.42);
    expect(shownScore(row(0, { selectionScore: 0.91 }), "auc")).toBe(0.91);
    expect(shownScore(row(0, { selectionScore: 0.7 }), "macroF1")).toBe(0.7);
    expect(shownScore(row(0, { selectionScore: null }), "valLoss")).toBeNull();
  });

  it("draws the selection metric's own column: loss for valLoss, AUC for the AUCs, F1 for the F-scores and accuracy", () => {
    const c = { epoch: [1, 2], trainLoss: [0.9, 0.8], valLoss: [0.7, 0.6], valAuc: [0.5, 0.6], valF1: [0.4, 0.45] };
    expect(selectionCurve(c, "valLoss")).toEqual([0.7, 0.6]);
    expect(selectionCurve(c, "auc")).toEqual([0.5, 0.6]);
    expect(selectionCurve(c, "macroAuc")).toEqual([0.5, 0.6]);
    expect(selectionCurve(c, "f1")).toEqual([0.4, 0.45]);
  });
});
