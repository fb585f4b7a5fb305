/**
 * The product's own path end to end: a synthetic Data-Stock dataset uploaded over HTTP, a sweep, a worker that
 * runs the real TensorFlow.js trainer process (wasm backend, small CNN, tiny images), epochs and results in
 * Postgres, the preprocessing cache built once and shared, and the best configuration.
 */
import { existsSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthDataset } from "@hypersweep/data";
import { importViaApi } from "../apps/cli/src/commands/datasets.ts";
import { eventually, startStack, type Stack } from "./helpers/stack.ts";
import { DEFAULT_TRAINER_CMD } from "../apps/worker/src/main.ts";

describe("a sweep with the real trainer", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("real");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("trains, records every epoch, and answers the best configuration", async () => {
    const src = join(s.tmp, "synth-real");
    await synthDataset(src, { images: 200, size: 32, seed: 3 });
    const imported = await importViaApi(src, { url: s.url, apiKey: s.team.apiKey, name: "real-stock", progress: false });
    expect(imported.version.imageCount).toBe(200);

    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_TRAINER_CMD: DEFAULT_TRAINER_CMD.join(" "), HYPERSWEEP_LEASE_MS: "15000", HYPERSWEEP_HEARTBEAT_MS: "2000" });
    const res = await s.http("POST", "/v1/sweeps", {
      dataset: "real-stock",
      scenario: { modality: "ct", task: "binary" },
      architectures: ["small_cnn"],
      seed: 11,
      overrides: { learningRates: [1e-2], subsetsPerRate: 2, searchEpochs: 2, imageSize: 16, batchSize: 16, final: false },
    });
    expect(res.status).toBe(201);
    const done = await eventually(async () => {
      const r = await s.http("GET", `/v1/sweeps/${res.body.id}`);
      return ["succeeded", "failed"].includes(r.body.status) ? r.body : null;
    }, 120_000, 500);
    const { body } = await s.http("GET", `/v1/sweeps/${res.body.id}/trials`);
    expect(body.trials.map((t: { error: string | null }) => t.error)).toEqual([null, null]);
    expect(done.status).toBe("succeeded");
    for (const t of body.trials) {
      // Two trainers at once on this node share its cores: each gets cores / 2 wasm threads (at least one).
      const threads = Math.max(1, Math.floor(availableParallelism() / 2));
      expect(t.backend).toBe(`wasm (${threads} thread${threads > 1 ? "s" : ""})`);
      expect(t.epochsDone).toBe(2);
      expect(t.valAuc).toBeGreaterThanOrEqual(0);
      expect(t.valAuc).toBeLessThanOrEqual(1);
    }
    const trial = await s.http("GET", `/v1/trials/${body.trials[0].id}`);
    expect(trial.body.epochs.map((e: { epoch: number; lr: number }) => [e.epoch, e.lr])).toEqual([[1, 1e-2], [2, 1e-2]]);
    expect(existsSync(trial.body.weightsPath)).toBe(true);
    // One preprocessing cache, shared by both trials.
    const cacheRoot = join(s.tmp, "cache");
    expect(readdirSync(cacheRoot).filter((d) => !d.startsWith("."))).toHaveLength(1);
    const top = [...body.trials].sort((a: { valAuc: number }, b: { valAuc: number }) => b.valAuc - a.valAuc)[0];
    const best = await s.http("GET", `/v1/best?dataset=real-stock&scenario=ct/binary&architecture=small_cnn`);
    expect(best.body.winner.valAuc).toBe(top.valAuc);
  }, 180_000);
});
