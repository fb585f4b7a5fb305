/**
 * The epoch rule through the real trainer (wasm backend, small CNN, 16 px): on classes so separable that the
 * validation AUC reaches 1.0 within an epoch or two while the loss keeps falling, the final training keeps
 * going, picks the epoch the rule picks (not the first at the maximum), and publishes and scores exactly that
 * epoch's weights.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bestEpochOf } from "@hypersweep/core";
import { loadBackend, loadModelFromDir } from "../src/index.ts";
import { evaluateSplit, predictSplit } from "../src/evaluate.ts";
import { makeSpec, removeTempDirs } from "./fixtures/spec.ts";
import { epochs, runTrial, type Tf } from "./fixtures/run.ts";
import { syntheticTrialData } from "./fixtures/synthetic-trial-data.ts";

afterAll(removeTempDirs);

let tf: Tf;
beforeAll(async () => {
  tf = (await loadBackend("wasm")).tf;
});

describe("the best epoch of a final training on a saturating metric", () => {
  it("is the rule's pick, and the restored, published and test-scored weights are that epoch's", async () => {
    const spec = makeSpec({
      stage: "final", epochs: 8, earlyStopping: { patience: 3, minDelta: 0 }, evaluateTest: true, backend: "wasm", learningRate: 3e-3,
    });
    const data = syntheticTrialData({ signal: 1.2, counts: { train: 64, valid: 32, test: 32 }, seed: 3 });
    const run = await runTrial(tf, spec, data);
    expect(run.error).toBeUndefined();
    const eps = epochs(run);
    const result = run.result!;

    // The metric saturates: several epochs share the maximum validation AUC.
    const top = Math.max(...eps.map((e) => e.metrics.auc!));
    const atTop = eps.filter((e) => e.metrics.auc === top);
    expect(top).toBe(1);
    expect(atTop.length).toBeGreaterThan(1);
    // The rule's pick among them is the one with the lowest validation loss, later than the first at the maximum.
    const rule = bestEpochOf(eps, "auc", { task: "binary", minDelta: 0, patience: 3 });
    expect(result.bestEpoch).toBe(rule.bestEpoch);
    expect(result.bestEpoch).toBe(atTop.reduce((a, b) => (b.valLoss < a.valLoss ? b : a)).epoch);
    expect(result.bestEpoch).toBeGreaterThan(atTop[0]!.epoch);
    // Early stopping ran on the same rule: training ended where the rule says (or at the maximum).
    expect(eps.at(-1)!.epoch).toBe(rule.stoppedAt ?? 8);

    // The published weights are the chosen epoch's: re-evaluated on the validation split they give its loss.
    const best = eps.find((e) => e.epoch === result.bestEpoch)!;
    const model = await loadModelFromDir(tf, spec.outputDir);
    try {
      const val = await predictSplit(tf, model, data, "valid", 8);
      expect(Math.abs(val.loss - best.valLoss) / best.valLoss).toBeLessThan(1e-3);
      // ... and no other epoch's: the loss identifies the epoch.
      for (const e of eps) if (e.epoch !== best.epoch) expect(Math.abs(val.loss - e.valLoss)).toBeGreaterThan(Math.abs(val.loss - best.valLoss));
      expect(result.metrics.valLoss).toBe(best.valLoss);
      // And the test report was scored with those same weights.
      const test = await predictSplit(tf, model, data, "test", 8);
      const report = result.test as { loss: number; metrics: Record<string, number | null> };
      expect(Math.abs(report.loss - test.loss) / test.loss).toBeLessThan(1e-3);
      const ctx = { task: "binary" as const, classes: data.classes, positiveClass: "COVID-19" };
      expect(report.metrics.auc).toBeCloseTo(evaluateSplit(test, ctx).metrics.auc!, 6);
    } finally {
      model.dispose();
    }
  }, 120_000);
});
