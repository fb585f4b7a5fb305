/** The sweep page's pure model: which trials hyperparameter importance rests on. */
import { describe, expect, it } from "vitest";
import { importanceTrials, type TrialRow } from "../web/pages/sweep-model.ts";

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
