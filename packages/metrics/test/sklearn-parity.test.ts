// Parity with scikit-learn (what the paper used): every metric on random cases, including heavy ties and
// float32 probabilities, must match to 1e-12. Regenerate the cases with fixtures/make-sklearn-fixtures.py.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { binaryMetrics, confusionMatrix, multiclassMetrics, oneVsRestAuc, rocAuc } from "../src/index.ts";

interface BinaryCase {
  kind: "binary";
  yTrue: number[];
  score: number[];
  auc: number;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  confusion: number[][];
}
interface MulticlassCase extends Omit<BinaryCase, "kind" | "score"> {
  kind: "multiclass";
  probs: number[][];
  positiveClass: number;
  macroAuc: number;
  perClassAuc: number[];
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/sklearn-cases.json", import.meta.url), "utf8")) as {
  sklearn: string;
  cases: (BinaryCase | MulticlassCase)[];
};
const binary = fixture.cases.filter((c): c is BinaryCase => c.kind === "binary");
const multiclass = fixture.cases.filter((c): c is MulticlassCase => c.kind === "multiclass");
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12);

describe(`parity with scikit-learn ${fixture.sklearn}`, () => {
  it.each(binary.map((c) => [c.yTrue.length, c] as const))("binary case with %i samples", (_n, c) => {
    close(rocAuc(c.yTrue, c.score), c.auc);
    const m = binaryMetrics(c.yTrue, c.score);
    for (const k of ["precision", "recall", "f1", "accuracy", "auc"] as const) close(m[k], c[k]);
    expect(m.confusion).toEqual(c.confusion);
  });

  it.each(multiclass.map((c) => [c.yTrue.length, c.probs[0]!.length, c] as const))(
    "multiclass case with %i samples × %i classes",
    (_n, k, c) => {
      const m = multiclassMetrics(c.yTrue, c.probs, c.positiveClass);
      for (const key of ["precision", "recall", "f1", "accuracy", "auc", "macroAuc"] as const) close(m[key], c[key]);
      m.perClassAuc.forEach((v, i) => close(v, c.perClassAuc[i]!));
      expect(m.confusion).toEqual(c.confusion);
      // The flat row-major Float32Array form (what tensor.dataSync() gives) agrees with the rows form, to float32.
      const flat = Float32Array.from(c.probs.flat());
      expect(Math.abs(multiclassMetrics(c.yTrue, flat, c.positiveClass).macroAuc - c.macroAuc)).toBeLessThan(1e-3);
      close(oneVsRestAuc(c.yTrue, c.probs).macro, c.macroAuc);
      const pred = c.probs.map((row) => row.indexOf(Math.max(...row)));
      expect(confusionMatrix(c.yTrue, pred, k)).toEqual(c.confusion);
    },
  );
});
