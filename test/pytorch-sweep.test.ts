/**
 * A sweep trained by the PyTorch trainer through the product's own path: a synthesised dataset uploaded over
 * HTTP, a worker whose HYPERSWEEP_TRAINER_CMD is trainers/pytorch, search and final stage, epochs and results in
 * Postgres scored by the worker from the reported probabilities. Under CI=true it fails when torch is missing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthDataset } from "@hypersweep/data";
import { importViaApi } from "../apps/cli/src/commands/datasets.ts";
import { eventually, startStack, type Stack } from "./helpers/stack.ts";
import { PYTHON, requireTorchInCi, skipWithoutTorch } from "./helpers/torch.ts";

const TRAINER_CMD = `env PYTHONPATH=${fileURLToPath(new URL("../trainers/pytorch", import.meta.url))} ${PYTHON} -m hypersweep_trainer`;

describe("a sweep with the PyTorch trainer", () => {
  let s: Stack;
  beforeAll(async () => {
    requireTorchInCi();
    if (!skipWithoutTorch) s = await startStack("pytorch");
  });
  afterAll(async () => {
    await s?.close();
  });

  it.skipIf(skipWithoutTorch)("trains both stages, stores worker-scored epochs and the final test report, answers the best configuration", async () => {
    const src = join(s.tmp, "synth-torch");
    await synthDataset(src, { images: 160, size: 32, seed: 3 });
    await importViaApi(src, { url: s.url, apiKey: s.team.apiKey, name: "torch-stock", progress: false });
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_TRAINER_CMD: TRAINER_CMD, HYPERSWEEP_TRAINER_THREADS: "1" });
    const res = await s.http("POST", "/v1/sweeps", {
      dataset: "torch-stock",
      scenario: { modality: "ct", task: "binary" },
      architectures: ["small_cnn"],
      seed: 5,
      overrides: { learningRates: [1e-2], subsetsPerRate: 2, searchEpochs: 2, imageSize: 16, batchSize: 16, final: true, finalEpochs: 3, patience: 2 },
    });
    expect(res.status).toBe(201);
    const done = await eventually(async () => {
      const r = await s.http("GET", `/v1/sweeps/${res.body.id}`);
      return ["succeeded", "failed"].includes(r.body.status) ? r.body : null;
    }, 150_000, 500);
    const { body } = await s.http("GET", `/v1/sweeps/${res.body.id}/trials`);
    expect(body.trials.map((t: { error: string | null }) => t.error)).toEqual(body.trials.map(() => null));
    expect(done.status).toBe("succeeded");
    const search = body.trials.filter((t: { stage: string }) => t.stage === "search");
    expect(search).toHaveLength(2);
    for (const t of search) {
      expect(t.backend).toBe("torch-cpu");
      expect(t.epochsDone).toBe(2);
      const detail = (await s.http("GET", `/v1/trials/${t.id}`)).body;
      // Stored as the TensorFlow.js trainer's are: every epoch once, scored by the worker.
      expect(detail.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
      for (const e of detail.epochs) expect(Object.keys(e.metrics).sort()).toEqual(["accuracy", "auc", "f1", "macroF1", "precision", "recall"]);
      expect(detail.weightsPath).toMatch(/model\.safetensors$/);
      expect(existsSync(detail.weightsPath)).toBe(true);
    }
    const best = await s.http("GET", `/v1/best?dataset=torch-stock&scenario=ct/binary&architecture=small_cnn`);
    expect(best.body.winner.final).toMatchObject({ status: "succeeded" });
    const test = best.body.winner.final.metrics.test;
    expect(test.intervals.auc === null || test.intervals.auc.lower <= test.intervals.auc.upper).toBe(true);
    expect(test.metrics.accuracy).toBeGreaterThanOrEqual(0);
  }, 200_000);
});
