import { describe, expect, it } from "vitest";
import { evaluateSplit, testReport, type SplitPredictions } from "../src/evaluate.ts";

const pred = (labels: number[], probs: number[][]): SplitPredictions => ({
  labels: Int32Array.from(labels),
  probs: Float32Array.from(probs.flat()),
  loss: 0.5,
});

describe("evaluateSplit", () => {
  it("binary: metrics of the positive class, confusion matrix in class order even when the positive class is index 0", () => {
    // classes [COVID-19, other]: COVID-19 is index 0. Sample 3 is a COVID-19 image predicted "other".
    const p = pred([0, 0, 1, 0], [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]]);
    const e = evaluateSplit(p, { task: "binary", classes: ["COVID-19", "other"], positiveClass: "COVID-19" });
    expect(e.confusion).toEqual([[2, 1], [0, 1]]);
    expect(e.metrics.precision).toBeCloseTo(1);
    expect(e.metrics.recall).toBeCloseTo(2 / 3);
    expect(e.metrics.accuracy).toBeCloseTo(3 / 4);
    expect(e.metrics.auc).toBeCloseTo(1); // every COVID-19 score (0.9, 0.8, 0.4) beats the negative's 0.3
  });

  it("a validation split with a single class gives null AUCs and still the confusion-matrix metrics", () => {
    const binary = evaluateSplit(pred([1, 1, 1], [[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]]), {
      task: "binary", classes: ["other", "COVID-19"], positiveClass: "COVID-19",
    });
    expect(binary.metrics.auc).toBeNull();
    expect(binary.metrics.recall).toBeCloseTo(2 / 3);
    expect(binary.metrics.accuracy).toBeCloseTo(2 / 3);
    const multi = evaluateSplit(pred([0, 1, 1], [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2]]), {
      task: "multiclass", classes: ["healthy", "COVID-19", "pneumonia"], positiveClass: "COVID-19",
    });
    expect(multi.metrics.macroAuc).toBeNull(); // "pneumonia" is absent
    expect(multi.metrics.auc).toBeCloseTo(1); // COVID-19 vs rest is still defined
    expect(multi.confusion).toEqual([[1, 0, 0], [1, 1, 0], [0, 0, 0]]);
    for (const v of Object.values(multi.metrics)) expect(v === null || Number.isFinite(v)).toBe(true);
  });

  it("test report: bootstrap intervals bracket each estimate and are reproducible from the seed", () => {
    const labels = Array.from({ length: 40 }, (_, i) => i % 2);
    const probs = labels.map((y, i) => {
      const p = (y ? 0.6 : 0.4) + (((i * 7919) % 13) - 6) / 20; // overlapping classes: AUC well below 1
      return [1 - p, p];
    });
    const ctx = { task: "binary" as const, classes: ["other", "COVID-19"], positiveClass: "COVID-19" };
    const a = testReport(pred(labels, probs), ctx, 11);
    expect(testReport(pred(labels, probs), ctx, 11)).toEqual(a);
    for (const key of ["auc", "f1", "precision", "recall", "accuracy"]) {
      const ci = a.intervals[key]!;
      expect(ci.estimate).toBeCloseTo(a.metrics[key]!, 12);
      expect(ci.lower).toBeLessThanOrEqual(ci.estimate);
      expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate);
      expect(ci.upper - ci.lower).toBeGreaterThan(0); // 40 samples cannot pin a metric down
    }
  });
});

describe("testReport (multiclass)", () => {
  it("a class absent from the test set leaves macroAuc without an interval, and every other metric with one", () => {
    // classes [normal, covid19, pneumonia]; no pneumonia image in the set.
    const labels = Array.from({ length: 30 }, (_, i) => i % 2);
    const probs = labels.map((y, i) => {
      const p = (y ? 0.55 : 0.45) + (((i * 7919) % 11) - 5) / 25;
      return [(1 - p) * 0.9, p * 0.9, 0.1];
    });
    const ctx = { task: "multiclass" as const, classes: ["normal", "covid19", "pneumonia"], positiveClass: "covid19" };
    const r = testReport(pred(labels, probs), ctx, 3);
    expect(r.metrics.macroAuc).toBeNull();
    expect(r.intervals.macroAuc).toBeNull();
    for (const key of ["auc", "f1", "precision", "recall", "accuracy"]) {
      const ci = r.intervals[key]!;
      expect(ci.estimate).toBeCloseTo(r.metrics[key]!, 12);
      expect(ci.lower).toBeLessThan(ci.upper);
    }
  });
});
