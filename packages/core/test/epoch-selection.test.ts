import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bestEpochOf, EarlyStopping, epochImproves, selectBest, selectionScores, type SelectionMetric } from "../src/index.ts";

/** Epoch records from parallel lists of the monitored metric and the validation loss. */
const seq = (metric: string, values: (number | null)[], losses: number[]) =>
  values.map((v, i) => ({ epoch: i + 1, valLoss: losses[i]!, metrics: { [metric]: v } }));

describe("the epoch rule", () => {
  it("saturation: F1 = 1.0 from epoch 2 while the loss keeps falling picks the lowest-loss epoch, not epoch 2", () => {
    // The measured case of issue 10: F1 saturates at epoch 2 (loss 0.49); the loss reaches 0.052 at epoch 13.
    const f1 = [0.8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const loss = [0.9, 0.49, 0.4, 0.33, 0.27, 0.22, 0.18, 0.15, 0.12, 0.1, 0.08, 0.065, 0.052, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12];
    expect(bestEpochOf(seq("f1", f1, loss), "f1")).toEqual({ bestEpoch: 13, stoppedAt: null });
    // Early stopping (patience 10) keeps training while the loss falls, and stops 10 epochs after epoch 13.
    const epochs = seq("f1", [...f1, 1, 1, 1], [...loss, 0.13, 0.14, 0.15]);
    expect(bestEpochOf(epochs, "f1", { patience: 10 })).toEqual({ bestEpoch: 13, stoppedAt: 23 });
    // Under the old rule (ties never improve) epoch 2 would have won and training stopped at epoch 12.
    const oldRule = new EarlyStopping({ mode: "max", patience: 10 });
    let stopped = 0;
    for (const e of epochs) if (oldRule.update(e.epoch, e.metrics.f1).stop && !stopped) stopped = e.epoch;
    expect([oldRule.state.bestEpoch, stopped]).toEqual([2, 12]);
  });

  it("a rise by more than minDelta wins even when the loss rises", () => {
    expect(bestEpochOf(seq("auc", [0.7, 0.8, 0.9], [0.5, 0.6, 0.7]), "auc")).toMatchObject({ bestEpoch: 3 });
    expect(epochImproves({ value: 0.85, valLoss: 9 }, { value: 0.8, valLoss: 0.1 }, 0.02)).toBe(true);
  });

  it("a plateau with a flat or rising loss keeps the first epoch of the plateau; patience ends it", () => {
    const r = bestEpochOf(seq("auc", [0.6, 0.9, 0.9, 0.9, 0.9, 0.9], [0.7, 0.3, 0.3, 0.31, 0.35, 0.4]), "auc", { patience: 3 });
    expect(r).toEqual({ bestEpoch: 2, stoppedAt: 5 });
  });

  it("noise below minDelta is a tie: the loss decides, in both directions", () => {
    const auc = [0.9, 0.905, 0.898, 0.903, 0.9];
    // The metric wobbles within minDelta = 0.01; the loss falls until epoch 4: epoch 4 is the best.
    expect(bestEpochOf(seq("auc", auc, [0.5, 0.45, 0.4, 0.35, 0.36]), "auc", { minDelta: 0.01 }).bestEpoch).toBe(4);
    // Same wobble, the loss only rises: none of the noise counts; epoch 1 stays the best, and patience runs out.
    expect(bestEpochOf(seq("auc", auc, [0.3, 0.31, 0.32, 0.33, 0.34]), "auc", { minDelta: 0.01, patience: 4 })).toEqual({ bestEpoch: 1, stoppedAt: 5 });
    // With minDelta 0 the same 0.905 is a rise: the rule is exact, not tolerant, unless asked to be.
    expect(bestEpochOf(seq("auc", auc, [0.3, 0.31, 0.32, 0.33, 0.34]), "auc").bestEpoch).toBe(2);
  });

  it("a fall by more than minDelta never improves, whatever the loss does", () => {
    expect(epochImproves({ value: 0.85, valLoss: 0.01 }, { value: 0.9, valLoss: 0.5 }, 0.02)).toBe(false);
    expect(epochImproves({ value: 0.89, valLoss: 0.01 }, { value: 0.9, valLoss: 0.5 }, 0.02)).toBe(true);
  });

  it("an undefined metric never beats a defined one; between undefined ones the loss decides; the first epoch is always a start", () => {
    expect(epochImproves({ value: null, valLoss: 0.01 }, { value: 0.5, valLoss: 1 })).toBe(false);
    expect(epochImproves({ value: 0.1, valLoss: 5 }, { value: null, valLoss: 0.1 })).toBe(true);
    expect(epochImproves({ value: null, valLoss: 0.2 }, { value: null, valLoss: 0.3 })).toBe(true);
    expect(epochImproves({ value: null, valLoss: Number.NaN }, null)).toBe(true);
    expect(bestEpochOf(seq("auc", [null, null, 0.6, null], [0.9, 0.8, 0.85, 0.1]), "auc").bestEpoch).toBe(3);
  });

  it("validation loss as the metric: lower is better, minDelta applies to the loss", () => {
    const epochs = seq("auc", [0.5, 0.5, 0.5, 0.5], [0.9, 0.5, 0.495, 0.7]);
    expect(bestEpochOf(epochs, "valLoss").bestEpoch).toBe(3);
    // 0.495 is within minDelta of 0.5 but still a lower loss: a tie that the loss breaks, so epoch 3 again.
    expect(bestEpochOf(epochs, "valLoss", { minDelta: 0.01 }).bestEpoch).toBe(3);
  });

  // EarlyStopping never starts its record on an undefined value (a training run keeps its first epoch as a start
  // so that it always has a result): sequences here open with a defined one.
  it("core's EarlyStopping given the losses agrees with the rule on any sequence (and restores from JSON)", () => {
    const value = fc.oneof(fc.constantFrom(0.5, 0.9, 1, null), fc.double({ min: 0, max: 1, noNaN: true }));
    const epoch = fc.record({ v: value, loss: fc.double({ min: 0.01, max: 2, noNaN: true }) });
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.array(epoch, { maxLength: 30 }), fc.constantFrom(0, 0.01, 0.1), fc.integer({ min: 1, max: 6 }), (first, rest, minDelta, patience) => {
        const rows = [{ v: first, loss: 1 }, ...rest];
        const epochs = rows.map((r, i) => ({ epoch: i + 1, valLoss: r.loss, metrics: { auc: r.v } }));
        const expected = bestEpochOf(epochs, "auc", { minDelta, patience });
        let es = new EarlyStopping({ mode: "max", patience, minDelta });
        let stoppedAt: number | null = null;
        for (const e of epochs) {
          es = new EarlyStopping(es.opts, JSON.parse(JSON.stringify(es.state)));
          if (es.update(e.epoch, e.metrics.auc, e.valLoss).stop) {
            stoppedAt = e.epoch;
            break;
          }
        }
        expect({ bestEpoch: es.state.bestEpoch, stoppedAt }).toEqual({ bestEpoch: expected.bestEpoch, stoppedAt: expected.stoppedAt });
      }),
    );
  });
});

describe("the selection metric, per sweep", () => {
  const trial = (id: string, position: number, metrics: Record<string, number>, valLoss: number) => ({
    id, position, status: "succeeded", valAuc: metrics.auc, valF1: metrics.f1, valLoss, metrics: { ...metrics, valLoss },
  });
  const trials = [
    trial("a", 0, { auc: 0.95, f1: 0.6, macroF1: 0.7, accuracy: 0.8, macroAuc: 0.9 }, 0.4),
    trial("b", 1, { auc: 0.9, f1: 0.8, macroF1: 0.85, accuracy: 0.83, macroAuc: 0.93 }, 0.3),
    trial("c", 2, { auc: 0.85, f1: 0.7, macroF1: 0.8, accuracy: 0.9, macroAuc: 0.88 }, 0.2),
  ];
  const winners: Record<SelectionMetric, string> = { auc: "a", f1: "b", macroF1: "b", accuracy: "c", macroAuc: "b", valLoss: "c" };

  it("each metric picks its own winner; validation loss picks the lowest", () => {
    for (const [metric, id] of Object.entries(winners)) {
      expect([metric, selectBest(trials, "multiclass", { metric: metric as SelectionMetric }).winner?.id]).toEqual([metric, id]);
    }
  });

  it("stored scores are oriented (a loss is negated) so that one descending order ranks every metric", () => {
    expect(selectionScores("valLoss", { valLoss: 0.3, auc: 0.9, f1: 0.5 }, "binary")).toEqual({ selectionScore: -0.3, tiebreakScore: 0.9 });
    expect(selectionScores("macroF1", { macroF1: 0.7, auc: 0.9, f1: 0.5 }, "multiclass")).toEqual({ selectionScore: 0.7, tiebreakScore: 0.5 });
    // A binary trainer reports no macroAuc: it equals the AUC there.
    expect(selectionScores("macroAuc", { auc: 0.8, f1: 0.5 }, "binary").selectionScore).toBe(0.8);
    expect(selectionScores("macroAuc", { auc: 0.8, f1: 0.5 }, "multiclass").selectionScore).toBeNull();
  });

  it("ties on another metric fall to the paper's metric of the task, then to validation loss", () => {
    const tie = [trial("x", 0, { auc: 0.8, f1: 0.5, accuracy: 0.9 }, 0.2), trial("y", 1, { auc: 0.9, f1: 0.4, accuracy: 0.9 }, 0.3)];
    expect(selectBest(tie, "binary", { metric: "accuracy" }).winner?.id).toBe("y");
    expect(selectBest(tie, "multiclass", { metric: "accuracy" }).winner?.id).toBe("x");
    const full = [trial("x", 0, { auc: 0.8, f1: 0.5, accuracy: 0.9 }, 0.3), trial("y", 1, { auc: 0.8, f1: 0.5, accuracy: 0.9 }, 0.2)];
    expect(selectBest(full, "binary", { metric: "accuracy" }).winner?.id).toBe("y");
  });
});
