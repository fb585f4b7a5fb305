import fc from "fast-check";
import { describe, expect, it } from "vitest";

fc.configureGlobal({ interruptAfterTimeLimit: 10_000, markInterruptAsFailure: true });
import { binariseLabels, binaryMetrics, confusionMatrix, MetricInputError, multiclassMetrics, positiveScores } from "../src/index.ts";

describe("confusionMatrix", () => {
  it("puts true labels in rows and predictions in columns (scikit-learn's example)", () => {
    expect(confusionMatrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], 3)).toEqual([
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ]);
  });
  it("keeps rows and columns for classes that never occur", () => {
    expect(confusionMatrix([0, 0], [0, 0], 3)).toEqual([
      [2, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });
  it("names a prediction outside the class range", () => {
    expect(() => confusionMatrix([0, 1], [0, 3], 3)).toThrow("yPred[1] must be a class index in [0, 2], got 3");
  });
});

describe("binaryMetrics", () => {
  it("worked example: 3 TP, 1 FP, 1 FN, 3 TN", () => {
    const y = [1, 1, 1, 1, 0, 0, 0, 0];
    const s = [0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.1, 0.05];
    const m = binaryMetrics(y, s);
    expect(m.confusion).toEqual([
      [3, 1],
      [1, 3],
    ]);
    expect(m.precision).toBe(0.75);
    expect(m.recall).toBe(0.75);
    expect(m.f1).toBe(0.75);
    expect(m.accuracy).toBe(0.75);
    // pairs: 0.9, 0.8, 0.7 beat all 4 negatives (12); 0.2 beats 0.1 and 0.05 (2) → 14 / 16
    expect(m.auc).toBe(0.875);
  });
  it("predicts positive at score >= threshold", () => {
    expect(binaryMetrics([1, 0], [0.5, 0.49]).confusion).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(binaryMetrics([1, 0], [0.5, 0.49], { threshold: 0.6 }).recall).toBe(0);
  });
  it("gives 0, not NaN, when the model never predicts the positive class", () => {
    const m = binaryMetrics([1, 0, 0], [0.1, 0.2, 0.3]);
    expect([m.precision, m.recall, m.f1]).toEqual([0, 0, 0]);
    expect(m.accuracy).toBeCloseTo(2 / 3, 15);
  });
  it("agrees with a confusion matrix built independently", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 2, maxLength: 80 }),
        (rows) => {
          rows[0]![0] = 0;
          rows[1]![0] = 1;
          const y = rows.map((r) => r[0]);
          const s = rows.map((r) => r[1]);
          const m = binaryMetrics(y, s);
          let tp = 0, fp = 0, fn = 0, tn = 0;
          rows.forEach(([t, v]) => {
            const p = v >= 0.5;
            if (t === 1 && p) tp++;
            else if (t === 0 && p) fp++;
            else if (t === 1) fn++;
            else tn++;
          });
          const prec = tp + fp === 0 ? 0 : tp / (tp + fp);
          const rec = tp + fn === 0 ? 0 : tp / (tp + fn);
          const f1 = prec + rec === 0 ? 0 : (2 * prec * rec) / (prec + rec);
          return (
            Math.abs(m.precision - prec) < 1e-12 &&
            Math.abs(m.recall - rec) < 1e-12 &&
            Math.abs(m.f1 - f1) < 1e-12 &&
            Math.abs(m.accuracy - (tp + tn) / rows.length) < 1e-12 &&
            m.confusion[1]![1] === tp && m.confusion[0]![1] === fp
          );
        },
      ),
    );
  });
  it("rejects a non-finite threshold", () => {
    expect(() => binaryMetrics([0, 1], [0.2, 0.8], { threshold: Number.NaN })).toThrow(MetricInputError);
  });
});

describe("multiclassMetrics", () => {
  // 3 classes, positive = 1 ("COVID-19"); argmax predictions: [0, 1, 1, 2, 1, 2]
  const y = [0, 1, 1, 2, 2, 2];
  const probs = [
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1],
    [0.3, 0.4, 0.3],
    [0.1, 0.2, 0.7],
    [0.2, 0.5, 0.3],
    [0.3, 0.1, 0.6],
  ];
  it("reports the positive class's precision/recall/F1 and accuracy over all classes", () => {
    const m = multiclassMetrics(y, probs, 1);
    expect(m.confusion).toEqual([
      [1, 0, 0],
      [0, 2, 0],
      [0, 1, 2],
    ]);
    expect(m.precision).toBeCloseTo(2 / 3, 15);
    expect(m.recall).toBe(1);
    expect(m.f1).toBeCloseTo(0.8, 15);
    expect(m.accuracy).toBeCloseTo(5 / 6, 15);
  });
  it("binary AUC merges every negative class: positives {0.8, 0.4} vs negatives {0.2, 0.2, 0.5, 0.1}", () => {
    // 0.8 beats all 4; 0.4 beats 0.2, 0.2, 0.1 → 7 / 8
    expect(multiclassMetrics(y, probs, 1).auc).toBe(0.875);
  });
  it("accepts flat row-major Float32Array probabilities (what dataSync() returns)", () => {
    const m = multiclassMetrics(y, Float32Array.from(probs.flat()), 1);
    expect(m.confusion).toEqual(multiclassMetrics(y, probs, 1).confusion);
  });
  it("names a wrongly shaped matrix", () => {
    expect(() => multiclassMetrics(y, new Float32Array(17), 1)).toThrow(/17 values, not a multiple of the 6 labels/);
    expect(() => multiclassMetrics(y, [[0.5, 0.5], ...probs.slice(1)], 1)).toThrow("probs[1] has 3 values; row 0 has 2");
  });
  it("names a NaN probability with its row and column", () => {
    const bad = probs.map((r) => [...r]);
    bad[4]![2] = Number.NaN;
    expect(() => multiclassMetrics(y, bad, 1)).toThrow("probs[4][2] must be a finite number, got NaN");
  });
  it("names a positive class outside the range", () => {
    expect(() => multiclassMetrics(y, probs, 3)).toThrow("positiveClass must be a class index in [0, 2], got 3");
  });
});

describe("binary evaluation of a multiclass set (paper, Table 17)", () => {
  it("maps the positive class to 1 and every other class to 0", () => {
    expect(Array.from(binariseLabels([0, 1, 2, 1, 3], 1))).toEqual([0, 1, 0, 1, 0]);
    expect(Array.from(positiveScores([[0.2, 0.8], [0.6, 0.4]], 2, 1))).toEqual([0.8, 0.4]);
  });
});

describe("float32Json (how trainers send probabilities)", () => {
  it("reads back as exactly the same float32, in at most 9 significant digits", async () => {
    const { float32Json } = await import("../src/index.ts");
    const values = [0, 1, 0.5, 0.1, 1 / 3, 2 / 3, 1e-7, 1.4e-45, 0.99999994, 0.123456789, Math.fround(0.7) + 1e-9];
    for (let i = 0; i < 2000; i++) values.push(Math.fround(Math.sin(i) ** 2));
    for (const v of values) {
      const sent = JSON.parse(JSON.stringify(float32Json(v))) as number;
      expect(Math.fround(sent)).toBe(Math.fround(v));
      expect(sent.toExponential().split("e")[0]!.replace(".", "").length).toBeLessThanOrEqual(9); // significant digits
    }
    expect(JSON.stringify(float32Json(Math.fround(0.1)))).toBe("0.1");
    expect(JSON.stringify(float32Json(0.5))).toBe("0.5");
  });
});
