import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EarlyStopping, selectBest, selectionScores, stepLearningRate } from "../src/index.ts";

const t = (id: string, position: number, valAuc: number | null, valF1: number | null, valLoss = 0.5, status = "succeeded") => ({ id, position, status, valAuc, valF1, valLoss });

describe("selectBest", () => {
  it("binary: highest validation AUC wins; multiclass: highest F1", () => {
    const trials = [t("a", 0, 0.9, 0.5), t("b", 1, 0.8, 0.9), t("c", 2, 0.85, 0.7)];
    expect(selectBest(trials, "binary").winner?.id).toBe("a");
    expect(selectBest(trials, "multiclass").winner?.id).toBe("b");
    expect(selectBest(trials, "binary", { metric: "f1" }).winner?.id).toBe("b");
  });

  it("breaks ties by the other metric, then lower validation loss, then plan position", () => {
    expect(selectBest([t("a", 0, 0.9, 0.5), t("b", 1, 0.9, 0.6)], "binary").winner?.id).toBe("b");
    expect(selectBest([t("a", 0, 0.9, 0.6, 0.4), t("b", 1, 0.9, 0.6, 0.3)], "binary").winner?.id).toBe("b");
    expect(selectBest([t("a", 1, 0.9, 0.6, 0.3), t("b", 0, 0.9, 0.6, 0.3)], "binary").winner?.id).toBe("b");
  });

  it("failed, cancelled and NaN trials never win; none left means a clear no-winner answer", () => {
    const trials = [t("a", 0, 0.99, 0.9, 0.1, "failed"), t("b", 1, Number.NaN, 0.9), t("c", 2, 0.99, 0.9, 0.1, "cancelled"), t("d", 3, 0.6, 0.1)];
    expect(selectBest(trials, "binary").winner?.id).toBe("d");
    const none = selectBest(trials.slice(0, 3), "binary");
    expect(none.winner).toBeNull();
    expect(none.reason).toMatch(/no succeeded trial/);
    expect(selectBest([], "multiclass")).toMatchObject({ winner: null, reason: "no trials" });
  });
});

describe("schedules", () => {
  it("steps the learning rate ×0.1 every 7 epochs", () => {
    const s = { stepSize: 7, gamma: 0.1 };
    expect([1, 7, 8, 14, 15, 22].map((e) => stepLearningRate(1e-3, e, s))).toEqual([1e-3, 1e-3, 1e-3 * 0.1, 1e-3 * 0.1, 1e-3 * 0.1 ** 2, 1e-3 * 0.1 ** 3]);
  });

  it("early stopping stops after `patience` epochs without improvement and remembers the best epoch", () => {
    const es = new EarlyStopping({ mode: "max", patience: 2 });
    expect(es.update(1, 0.6)).toEqual({ improved: true, stop: false, bestEpoch: 1 });
    expect(es.update(2, 0.7).bestEpoch).toBe(2);
    expect(es.update(3, Number.NaN)).toEqual({ improved: false, stop: false, bestEpoch: 2 });
    expect(es.update(4, 0.69)).toEqual({ improved: false, stop: true, bestEpoch: 2 });
    const min = new EarlyStopping({ mode: "min", patience: 1, minDelta: 0.1 });
    min.update(1, 1.0);
    expect(min.update(2, 0.95).stop).toBe(true); // not better by more than minDelta
  });
});

describe("selectBest: robustness", () => {
  it("queued and running trials never win, whatever their scores", () => {
    const trials = [t("q", 0, 0.99, 0.99, 0.1, "queued"), t("r", 1, 0.99, 0.99, 0.1, "running"), t("s", 2, 0.7, 0.7)];
    expect(selectBest(trials, "binary")).toMatchObject({ winner: { id: "s" }, candidates: 1, metric: "auc" });
  });
  it("a missing tie-break metric or loss ranks below a present one", () => {
    expect(selectBest([t("a", 0, 0.9, null), t("b", 1, 0.9, 0.1)], "binary").winner?.id).toBe("b");
    const noLoss = { id: "a", position: 0, status: "succeeded", valAuc: 0.9, valF1: 0.5, valLoss: null };
    expect(selectBest([noLoss, t("b", 1, 0.9, 0.5, 2.0)], "binary").winner?.id).toBe("b");
  });
  it("the winner does not depend on the order the trials are listed in (ties included)", () => {
    const score = fc.constantFrom(0.5, 0.8, 0.9, Number.NaN, null);
    const trial = fc.record({ valAuc: score, valF1: score, valLoss: fc.constantFrom(0.1, 0.2, null), status: fc.constantFrom("succeeded", "failed") });
    fc.assert(
      fc.property(fc.array(trial, { minLength: 1, maxLength: 12 }), fc.integer(), (rows, shift) => {
        const trials = rows.map((r, i) => ({ id: `t${i}`, position: i, ...r }));
        const k = Math.abs(shift) % trials.length;
        const rotated = [...trials.slice(k), ...trials.slice(0, k)].reverse();
        for (const task of ["binary", "multiclass"] as const) {
          expect(selectBest(rotated, task).winner?.id).toBe(selectBest(trials, task).winner?.id);
        }
      }),
    );
  });
});

describe("selectionScores", () => {
  it("puts the task's metric first and the other as the tie-break; non-finite values become null", () => {
    expect(selectionScores("auc", { auc: 0.9, f1: 0.7 })).toEqual({ selectionScore: 0.9, tiebreakScore: 0.7 });
    expect(selectionScores("f1", { auc: 0.9, f1: 0.7 })).toEqual({ selectionScore: 0.7, tiebreakScore: 0.9 });
    expect(selectionScores("auc", { auc: Number.NaN, f1: null })).toEqual({ selectionScore: null, tiebreakScore: null });
  });
});
