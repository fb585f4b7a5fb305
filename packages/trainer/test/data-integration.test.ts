/**
 * The trainer on the real data path: a synthetic dataset imported by @hypersweep/data, opened through
 * openTrialDataFor (no HYPERSWEEP_TRIAL_DATA_MODULE), preprocessing cache built on first open.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importDataset, resolveScenario, synthDataset } from "@hypersweep/data";
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
