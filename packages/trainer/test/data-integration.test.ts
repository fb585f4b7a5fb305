/**
 * The trainer on the real data path: a synthetic dataset imported by @hypersweep/data, opened through
 * openTrialDataFor (no HYPERSWEEP_TRIAL_DATA_MODULE), preprocessing cache built on first open.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importDataset, resolveScenario, synthDataset } from "@hypersweep/data";
import { scoreSplit, toSplitScores } from "@hypersweep/metrics";
import { loadBackend, openTrialDataFor } from "../src/index.ts";
import { makeSpec, tempDir, removeTempDirs } from "./fixtures/spec.ts";
import { epochs, runTrial } from "./fixtures/run.ts";

afterAll(removeTempDirs);

describe("trainer with @hypersweep/data", () => {
  it("opens an imported dataset version through openTrialData and trains a search trial on it", async () => {
    const work = tempDir("data");
    await synthDataset(path.join(work, "src"), { images: 80, size: 24, seed: 3 });
    const version = await importDataset(path.join(work, "src"), { dataRoot: path.join(work, "data") });
    const scenario = resolveScenario(version.rows, { modality: "radiograph", task: "binary" });
    const spec = makeSpec({
      epochs: 1, batchSize: 8, imageSize: 16, backend: "wasm", augmentations: ["hflip", "contrast"],
      data: {
        datasetVersionId: version.contentHash, datasetDir: version.storagePath, cacheDir: path.join(work, "cache"),
        scenario: { key: scenario.key, modality: "radiograph", task: "binary", classes: scenario.classes, positiveClass: "covid19" },
      },
    });
    const data = await openTrialDataFor(spec, {}); // no hook: the real @hypersweep/data
    try {
      expect(data.counts).toEqual({
        train: scenario.rowIndices.train.length, valid: scenario.rowIndices.valid.length, test: scenario.rowIndices.test.length,
      });
      const { tf } = await loadBackend("wasm");
      const run = await runTrial(tf, spec, data);
      expect(run.error).toBeUndefined();
      const [epoch] = epochs(run);
      expect(epoch!.trainLoss).toBeGreaterThan(0);
      expect(Number.isFinite(epoch!.valLoss)).toBe(true);
      expect(run.result).toMatchObject({ type: "result", bestEpoch: 1 });
    } finally {
      await data.close?.();
    }
  });
});

describe("the trainer reports probabilities (the one scorer's input)", () => {
  it("sends each epoch's validation predictions and the kept weights' val/test predictions, named by the manifest's hashes", async () => {
    const work = tempDir("data-pred");
    await synthDataset(path.join(work, "src"), { images: 90, size: 24, seed: 5 });
    const version = await importDataset(path.join(work, "src"), { dataRoot: path.join(work, "data") });
    const scenario = resolveScenario(version.rows, { modality: "ct", task: "multiclass" });
    const ctx = { task: "multiclass" as const, classes: scenario.classes, positiveClass: "covid19" };
    const spec = makeSpec({
      epochs: 2, batchSize: 8, imageSize: 16, backend: "wasm", augmentations: [], stage: "final", task: "multiclass", selectionMetric: "f1",
      evaluateTest: true,
      data: {
        datasetVersionId: version.contentHash, datasetDir: version.storagePath, cacheDir: path.join(work, "cache"),
        scenario: { key: scenario.key, modality: "ct", task: "multiclass", classes: scenario.classes, positiveClass: "covid19" },
      },
    });
    const data = await openTrialDataFor(spec, {});
    try {
      const { tf } = await loadBackend("wasm");
      const run = await runTrial(tf, spec, data);
      expect(run.error).toBeUndefined();
      const hashes = (split: "valid" | "test") => scenario.rowIndices[split].map((i) => version.rows[i]!.sha256);
      const labels = (split: "valid" | "test") => scenario.labels[split];
      for (const e of epochs(run)) {
        expect(e.predictions!.images).toEqual(hashes("valid"));
        expect(e.predictions!.labels).toEqual(labels("valid"));
        expect(e.predictions!.probs.every((row) => row.length === scenario.classes.length && Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-5)).toBe(true);
        // Scored from what was sent, the metrics are exactly the trainer's own (float32 values survive JSON).
        expect(scoreSplit(toSplitScores(e.predictions!), ctx).metrics).toEqual(e.metrics);
      }
      const r = run.result!;
      expect(r.test).toBeUndefined(); // scored by the receiver
      expect(r.predictions!.test!.images).toEqual(hashes("test"));
      expect(r.predictions!.test!.labels).toEqual(labels("test"));
      // The kept weights on the validation split reproduce the best epoch's metrics.
      const best = epochs(run).find((e) => e.epoch === r.bestEpoch)!;
      expect(r.predictions!.val).toEqual(best.predictions);
    } finally {
      await data.close?.();
    }
  });
});
