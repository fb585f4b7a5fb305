/**
 * A sweep that names the pytorch trainer, trained for real by the PyTorch trainer (trainers/pytorch) through a
 * worker that runs it (HYPERSWEEP_TRAINERS=pytorch): real Postgres, Redis, API, worker and trainer process. Skipped
 * where torch is missing, except in CI (test/helpers/torch.ts).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, ROOT, startStack, sweepBody, type Stack } from "./helpers/stack.ts";
import { PYTHON, requireTorchInCi, skipWithoutTorch } from "./helpers/torch.ts";

describe.skipIf(skipWithoutTorch)("a pytorch sweep on a pytorch worker", () => {
  let s: Stack;
  beforeAll(async () => {
    requireTorchInCi();
    s = await startStack("pytorchworker");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("trains every trial with the PyTorch trainer and shows its backend in the fleet", async () => {
    await s.startWorker({
      HYPERSWEEP_WORKER_ID: "torch-node", HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_TRAINERS: "pytorch",
      HYPERSWEEP_PYTORCH_CMD: `env PYTHONPATH=${join(ROOT, "trainers/pytorch")} ${PYTHON} -m hypersweep_trainer`,
      HYPERSWEEP_LEASE_MS: "30000", HYPERSWEEP_HEARTBEAT_MS: "2000",
    });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { trainer: "pytorch", overrides: { searchEpochs: 2, imageSize: 16, learningRates: [1e-3], subsetsPerRate: 1, batchSize: 16 } }));
    expect(res.status).toBe(201);
    const done = await eventually(async () => {
      const r = await s.http("GET", `/v1/sweeps/${res.body.id}`);
      return ["succeeded", "failed"].includes(r.body.status) ? r.body : null;
    }, 240_000, 500);
    const trial = (await s.http("GET", `/v1/trials/${res.body.trials[0].id}`)).body;
    expect([done.status, trial.error]).toEqual(["succeeded", null]);
    expect(trial.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    const fleet = (await s.http("GET", "/v1/workers")).body.workers.find((w: { id: string }) => w.id === "torch-node");
    expect(fleet.trainers).toEqual(["pytorch"]);
    // The backend the PyTorch trainer reported (torch-cpu here, torch-cuda on a GPU node), recorded on the attempt too.
    expect(fleet.backends.pytorch).toBe(trial.attempts[0].backend);
    expect(fleet.backends.pytorch).toMatch(/^torch-(cpu|cuda)/);
  }, 300_000);
});
