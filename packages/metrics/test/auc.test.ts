import fc from "fast-check";
import { describe, expect, it } from "vitest";

// A failing property must fail fast: shrinking a chained arbitrary can otherwise run for minutes.
fc.configureGlobal({ interruptAfterTimeLimit: 10_000, markInterruptAsFailure: true });
import { MetricInputError, multiclassMetrics, oneVsRestAuc, rocAuc } from "../src/index.ts";

/** Brute-force oracle: the fraction of (positive, negative) pairs ranked correctly, ties counting ½. */
function pairAuc(y: number[], s: number[]): number {
  let wins = 0;
  let pairs = 0;
  y.forEach((yi, i) => {
    if (yi !== 1) return;
    y.forEach((yj, j) => {
      if (yj !== 0) return;
      pairs++;
      wins += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

/** Labels with at least one of each class, and scores drawn from few values so that ties are common. */
const labelledScores = fc
  .integer({ min: 2, max: 60 })
  .chain((n) =>
    fc.tuple(
      fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n }),
      fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -10, max: 10, noNaN: true })), {
        minLength: n,
        maxLength: n,
      }),
    ),
  )
  .map(([y, s]) => {
    y[0] = 0;
    y[1] = 1;
    return { y, s };
  });

describe("rocAuc: worked examples", () => {
  it("matches scikit-learn's documented example", () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
  });
  it("counts a tie between a positive and a negative as one half", () => {
    // pairs (pos, neg): (0.5, 0.2) win, (0.5, 0.5) tie, (0.9, 0.2) win, (0.9, 0.5) win → 3.5 / 4
    expect(rocAuc([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9])).toBe(0.875);
  });
  it("gives 0.5 when every score is equal", () => {
    expect(rocAuc([0, 1, 1, 0, 1], [0.3, 0.3, 0.3, 0.3, 0.3])).toBe(0.5);
  });
  it("gives 1 for a perfect ranking and 0 for a reversed one", () => {
    expect(rocAuc([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8])).toBe(1);
    expect(rocAuc([1, 1, 0, 0, 0], [0.1, 0.2, 0.3, 0.7, 0.8])).toBe(0);
  });
  it("accepts typed arrays", () => {
    expect(rocAuc(Uint8Array.from([0, 0, 1, 1]), Float32Array.from([0.1, 0.4, 0.35, 0.8]))).toBe(0.75);
  });
});

describe("rocAuc: errors name the problem", () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(MetricInputError);
      expect((e as MetricInputError).code).toBe("METRIC_INPUT");
      return e as MetricInputError;
    }
    throw new Error("expected a MetricInputError");
  };
  it("only one class present", () => {
    expect(err(() => rocAuc([1, 1, 1], [0.1, 0.2, 0.3])).reason).toBe("single_class");
    expect(err(() => rocAuc([0, 0], [0.1, 0.2])).message).toMatch(/only one class/);
  });
  it("mismatched lengths", () => {
    expect(err(() => rocAuc([0, 1, 1], [0.1, 0.2])).message).toBe("yTrue has 3 entries but score has 2");
  });
  it("a NaN score, with its index", () => {
    expect(err(() => rocAuc([0, 1, 1], [0.1, Number.NaN, 0.3])).message).toBe("score[1] must be a finite number, got NaN");
  });
  it("a label that is not 0/1, with its index", () => {
    expect(err(() => rocAuc([0, 2, 1], [0.1, 0.2, 0.3])).message).toMatch(/^yTrue\[1\] must be 0 or 1/);
  });
  it("empty input", () => {
    expect(err(() => rocAuc([], [])).reason).toBe("empty");
  });
});

describe("rocAuc: properties", () => {
  it("equals the pairwise definition (ties ½)", () => {
    fc.assert(fc.property(labelledScores, ({ y, s }) => Math.abs(rocAuc(y, s) - pairAuc(y, s)) < 1e-12));
  });
  it("is unchanged by any strictly increasing transform of the scores", () => {
    // The transform maps the k-th smallest distinct score to the sum of k random positive gaps: an arbitrary
    // strictly increasing function that floating-point rounding cannot collapse (unlike, say, atan).
    const gaps = fc.array(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), { minLength: 60, maxLength: 60 });
    fc.assert(
      fc.property(labelledScores, gaps, ({ y, s }, g) => {
        const distinct = [...new Set(s)].sort((a, b) => a - b);
        const image = new Map(distinct.map((v, k) => [v, g.slice(0, k + 1).reduce((a, b) => a + b, -500)]));
        return Math.abs(rocAuc(y, s.map((v) => image.get(v)!)) - rocAuc(y, s)) < 1e-12;
      }),
    );
  });
  it("AUC(−s) = 1 − AUC(s)", () => {
    fc.assert(
      fc.property(labelledScores, ({ y, s }) => Math.abs(rocAuc(y, s.map((v) => -v)) - (1 - rocAuc(y, s))) < 1e-12),
    );
  });
  it("gives 1 when every positive outscores every negative", () => {
    fc.assert(
      fc.property(labelledScores, ({ y, s }) => rocAuc(y, s.map((v, i) => (y[i] === 1 ? 100 + Math.abs(v) : -100 - Math.abs(v)))) === 1),
    );
  });
  it("does not depend on the order of the samples", () => {
    fc.assert(
      fc.property(labelledScores, ({ y, s }) => {
        const order = y.map((_, i) => i).reverse();
        return rocAuc(order.map((i) => y[i]!), order.map((i) => s[i]!)) === rocAuc(y, s);
      }),
    );
  });
});

describe("multiclass AUC", () => {
  it("of a 2-class problem equals the binary AUC of either column", () => {
    // Probabilities on a 1/16 grid, so that 1 − p is exact: float rounding of 1 − p near 1 would merge
    // distinct scores into ties and change the AUC for a reason that has nothing to do with the metric.
    const cases = fc.integer({ min: 2, max: 60 }).chain((n) =>
      fc.tuple(
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 0, max: 16 }), { minLength: n, maxLength: n }),
      ),
    );
    fc.assert(
      fc.property(cases, ([y, q]) => {
        y[0] = 0;
        y[1] = 1;
        const p = q.map((v) => v / 16);
        const m = multiclassMetrics(y, p.map((v) => [1 - v, v]), 1);
        const bin = rocAuc(y, p);
        return Math.abs(m.macroAuc - bin) < 1e-12 && Math.abs(m.auc - bin) < 1e-12;
      }),
    );
  });
  it("is the unweighted mean of the one-vs-rest AUCs (hand-computed)", () => {
    // class 0: 1.0; class 1: 1.0; class 2: positives {0.7, 0.2} vs negatives {0.1, 0.3}: (2 + 1)/4 = 0.75
    const probs = [
      [0.8, 0.1, 0.1],
      [0.2, 0.5, 0.3],
      [0.1, 0.2, 0.7],
      [0.4, 0.4, 0.2],
    ];
    const r = oneVsRestAuc([0, 1, 2, 2], probs);
    expect(r.perClass).toEqual([1, 1, 0.75]);
    expect(r.macro).toBeCloseTo(2.75 / 3, 15);
  });
  it("refuses a set where a class is absent (as scikit-learn does), naming the class", () => {
    expect(() => oneVsRestAuc([0, 1, 0], [[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.6, 0.2, 0.2]])).toThrow(/class 2/);
  });
});
