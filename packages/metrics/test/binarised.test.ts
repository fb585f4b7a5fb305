import { describe, expect, it } from "vitest";
import { readAsBinary, readAsBinaryReport } from "../src/binarised.ts";
import { rocAuc } from "../src/auc.ts";

describe("a multiclass model read as positive vs the rest", () => {
  // classes [healthy, covid19, bacterial]; covid19 = 1
  const labels = [1, 1, 0, 2, 2, 1];
  const probs = [
    [0.2, 0.5, 0.3], // covid, predicted covid
    [0.35, 0.3, 0.35], // covid, argmax healthy (first maximum) -> predicted rest although p(covid) is not small
    [0.6, 0.3, 0.1], // rest, predicted rest
    [0.1, 0.45, 0.45], // rest, argmax covid (first maximum) -> false positive
    [0.2, 0.2, 0.6], // rest
    [0.1, 0.8, 0.1], // covid
  ];
  it("predicts positive when the argmax is the positive class; AUC ranks by its probability", () => {
    const r = readAsBinary(labels, probs.flat(), 1);
    expect(r.confusion).toEqual([[2, 1], [1, 2]]);
    expect(r.precision).toBeCloseTo(2 / 3);
    expect(r.recall).toBeCloseTo(2 / 3);
    expect(r.accuracy).toBeCloseTo(4 / 6);
    expect(r.auc).toBeCloseTo(rocAuc(labels.map((l) => (l === 1 ? 1 : 0)), probs.map((p) => p[1]!)));
  });
  it("gives seeded intervals around each estimate", () => {
    const a = readAsBinaryReport(labels, Float32Array.from(probs.flat()), 1, 3);
    const b = readAsBinaryReport(labels, Float32Array.from(probs.flat()), 1, 3);
    expect(a).toEqual(b);
    for (const k of ["precision", "recall", "f1", "accuracy", "auc"]) {
      const ci = a.intervals[k]!;
      expect(ci.lower).toBeLessThanOrEqual(ci.estimate);
      expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate);
    }
    expect(a.intervals.accuracy!.estimate).toBeCloseTo(4 / 6);
  });
  it("has no AUC when one merged class is missing", () => {
    expect(readAsBinary([0, 2], [0.5, 0.2, 0.3, 0.1, 0.1, 0.8], 1).auc).toBeNull();
  });
});
