import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bootstrapAuc, bootstrapCi, bootstrapCis, multiclassMetrics, rocAuc } from "../src/index.ts";
import { mulberry32 } from "@hypersweep/core";

/** A classifier with real but imperfect skill: positives score higher on average. */
function sample(n: number, seed: number) {
  const next = mulberry32(seed);
  const y = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const s = y.map((v) => next() + (v === 1 ? 0.4 : 0));
  return { y, s };
}

describe("bootstrapCi", () => {
  it("is reproducible for a seed and changes with the seed", () => {
    const { y, s } = sample(60, 1);
    const a = bootstrapCi(rocAuc, y, s, { resamples: 300, seed: 7 });
    expect(bootstrapCi(rocAuc, y, s, { resamples: 300, seed: 7 })).toEqual(a);
    const b = bootstrapCi(rocAuc, y, s, { resamples: 300, seed: 8 });
    expect([b.lower, b.upper]).not.toEqual([a.lower, a.upper]);
  });
  it("brackets the estimate, and reports it on the original set", () => {
    const { y, s } = sample(100, 2);
    const ci = bootstrapCi(rocAuc, y, s, { resamples: 500 });
    expect(ci.estimate).toBe(rocAuc(y, s));
    expect(ci.lower).toBeLessThan(ci.estimate);
    expect(ci.upper).toBeGreaterThan(ci.estimate);
    expect(ci).toMatchObject({ resamples: 500, level: 0.95, seed: 0 });
  });
  it("shows how little a 24-image test set proves next to a 2,400-image one", () => {
    const small = sample(24, 3);
    const large = sample(2400, 3);
    const w = (d: { y: number[]; s: number[] }) => {
      const ci = bootstrapCi(rocAuc, d.y, d.s, { resamples: 300, seed: 1 });
      return ci.upper - ci.lower;
    };
    // Width shrinks like 1/√n: 10× narrower for 100× the samples; demand at least 5×.
    expect(w(small)).toBeGreaterThan(5 * w(large));
    expect(w(small)).toBeGreaterThan(0.15);
  });
  it("resamples within each class, so even 1 positive among 20 keeps the AUC defined", () => {
    const y = [1, ...new Array<number>(19).fill(0)];
    const s = y.map((v, i) => (v ? 0.9 : i / 20));
    const ci = bootstrapCi(rocAuc, y, s, { resamples: 200 });
    expect(ci.lower).toBeGreaterThan(0);
    expect(ci.upper).toBe(1);
  });
  it("works on a flat Float32Array probability matrix, passing the metric the same shape", () => {
    const y = [0, 1, 2, 0, 1, 2, 0, 1, 2];
    const probs = Float32Array.from(y.flatMap((c, i) => [0, 1, 2].map((k) => (k === c ? 0.5 + (i % 3) / 10 : 0.25 - (i % 3) / 20))));
    const seen: string[] = [];
    const ci = bootstrapCi(
      (yy, p) => {
        seen.push(`${p.constructor.name}:${p.length}`);
        return multiclassMetrics(yy, p, 1).macroAuc;
      },
      y,
      probs,
      { resamples: 20 },
    );
    expect(ci.estimate).toBe(1);
    expect(new Set(seen)).toEqual(new Set(["Float32Array:27"]));
  });
  it("narrows as the level drops", () => {
    const { y, s } = sample(80, 4);
    const wide = bootstrapCi(rocAuc, y, s, { resamples: 400, level: 0.99 });
    const narrow = bootstrapCi(rocAuc, y, s, { resamples: 400, level: 0.5 });
    expect(narrow.upper - narrow.lower).toBeLessThan(wide.upper - wide.lower);
  });
  it("rejects bad options by name", () => {
    const { y, s } = sample(10, 5);
    expect(() => bootstrapCi(rocAuc, y, s, { level: 95 })).toThrow("level must be in (0, 1), got 95");
    expect(() => bootstrapCi(rocAuc, y, s, { resamples: 0 })).toThrow(/resamples must be an integer >= 1/);
  });
  it("fails on bad input before resampling, with the metric's own error", () => {
    expect(() => bootstrapCi(rocAuc, [0, 1, 1], [0.1, Number.NaN, 0.2])).toThrow("score[1] must be a finite number, got NaN");
  });
});

describe("bootstrapCis", () => {
  it("gives, for each metric, exactly the interval bootstrapCi gives for it alone", () => {
    const y = Array.from({ length: 30 }, (_, i) => i % 3);
    const next = mulberry32(11);
    const probs = y.map((c) => {
      const raw = [0, 1, 2].map((k) => next() + (k === c ? 0.6 : 0));
      const sum = raw.reduce((a, b) => a + b, 0);
      return raw.map((v) => v / sum);
    });
    const opts = { resamples: 200, seed: 3 };
    const all = bootstrapCis((yy, p) => {
      const m = multiclassMetrics(yy, p, 2);
      return { auc: m.auc, macroAuc: m.macroAuc, f1: m.f1 };
    }, y, probs, opts);
    expect(Object.keys(all).sort()).toEqual(["auc", "f1", "macroAuc"]);
    // The whole result of multiclassMetrics can be passed: its numeric fields get intervals, the rest is ignored.
    const whole = bootstrapCis((yy, p) => multiclassMetrics(yy, p, 2), y, probs, opts);
    expect(Object.keys(whole).sort()).toEqual(["accuracy", "auc", "f1", "macroAuc", "precision", "recall"]);
    expect(whole.auc).toEqual(all.auc);
    for (const k of ["auc", "macroAuc", "f1"] as const) {
      expect(all[k]).toEqual(bootstrapCi((yy, p) => multiclassMetrics(yy, p, 2)[k], y, probs, opts));
    }
  });
});

describe("bootstrapAuc (what bootstrapCi(rocAuc) runs)", () => {
  it("gives exactly the interval of the generic bootstrap, ties and tiny classes included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 6 })), { minLength: 2, maxLength: 50 }),
        fc.integer({ min: 0, max: 1000 }),
        (rows, seed) => {
          rows[0]![0] = 0;
          rows[1]![0] = 1;
          const y = rows.map((r) => r[0]);
          const s = rows.map((r) => r[1] / 6); // few distinct values: many ties
          const opts = { resamples: 50, seed };
          const generic = bootstrapCi((yy, ss: number[]) => rocAuc(yy, ss), y, s, opts);
          expect(bootstrapAuc(y, s, opts)).toEqual(generic);
          expect(bootstrapCi(rocAuc, y, s, opts)).toEqual(generic);
        },
      ),
      { numRuns: 60 },
    );
  });
});
