/**
 * Faults lose no result and never record one twice: a worker killed mid-trial, Redis emptied, a trainer that
 * crashes or diverges, cancellation. Real Postgres, real Redis, real worker and trainer processes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

const oneTrial = (datasetId: string, epochs: number, extra: Record<string, unknown> = {}) =>
  sweepBody(datasetId, { overrides: { searchEpochs: epochs, learningRates: [1e-3], subsetsPerRate: 1 }, ...extra });

async function waitFinished(s: Stack, id: string, ms = 60_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/sweeps/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms);
}

describe("faults", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("faults");
  });
  afterEach(async () => {
    await s?.stopWorkers();
  });
  afterAll(async () => {
    await s?.close();
  });

  it("SIGKILL of a worker mid-trial: another worker finishes it from the checkpoint; one result, two attempts", async () => {
    const killed = s.spawnWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_WORKER_ID: "doomed", FAKE_EPOCH_MS: "300" });
    const res = await s.http("POST", "/v1/sweeps", oneTrial(s.dataset.id, 8));
    const trialId = res.body.trials[0].id;
    await eventually(async () => {
      const t = await s.db.trial.findUnique({ where: { id: trialId } });
      return t && t.leaseOwner === "doomed" && t.epochsDone >= 2;
    }, 30_000);
    killed.kill("SIGKILL");
    const rescuer = await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_WORKER_ID: "rescuer", FAKE_EPOCH_MS: "100" });
    const done = await waitFinished(s, res.body.id);
    expect(done.status).toBe("succeeded");
    const trial = await s.http("GET", `/v1/trials/${trialId}`);
    expect(trial.body.status).toBe("succeeded");
    expect(trial.body.attempts.map((a: { status: string; workerId: string }) => [a.workerId, a.status])).toEqual([
      ["doomed", "lost"],
      ["rescuer", "succeeded"],
    ]);
    expect(trial.body.attempts[1].resumedFrom).toBeGreaterThanOrEqual(2);
    expect(trial.body.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await s.db.epoch.count({ where: { trialId } })).toBe(8);
    await rescuer.close();
  }, 90_000);

  it("SIGTERM drains a worker: it takes no new trial, hands the running one back, and another worker finishes it", async () => {
    const draining = s.spawnWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_WORKER_ID: "draining", HYPERSWEEP_DRAIN_MS: "500", FAKE_EPOCH_MS: "300" });
    const res = await s.http("POST", "/v1/sweeps", oneTrial(s.dataset.id, 12, { overrides: { searchEpochs: 12, learningRates: [1e-3], subsetsPerRate: 2 } }));
    await eventually(async () => (await s.db.trial.count({ where: { sweepId: res.body.id, leaseOwner: "draining", epochsDone: { gte: 1 } } })) === 1, 30_000);
    const exited = new Promise<number | null>((r) => draining.once("exit", (code) => r(code)));
    draining.kill("SIGTERM");
    expect(await exited).toBe(0);
    const trials = await s.db.trial.findMany({ where: { sweepId: res.body.id }, include: { attempts: true } });
    expect(trials.map((t) => t.status)).toEqual(["queued", "queued"]);
    const handedBack = trials.flatMap((t) => t.attempts);
    expect(handedBack).toHaveLength(1);
    expect([handedBack[0].status, handedBack[0].errorReason]).toEqual(["lost", "released"]);
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", FAKE_EPOCH_MS: "20" });
    expect((await waitFinished(s, res.body.id)).status).toBe("succeeded");
  }, 90_000);

  it("on a node with several GPUs, each trainer process gets a GPU of its own", async () => {
    await s.startWorker({ HYPERSWEEP_GPUS: "0,1", FAKE_EPOCH_MS: "200" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 5, learningRates: [1e-3], subsetsPerRate: 4 } }));
    // Two at a time (one per GPU): the two running trials hold different GPUs.
    const running = await eventually(async () => {
      const rs = await s.db.trial.findMany({ where: { sweepId: res.body.id, status: "running", backend: { not: null } } });
      return rs.length === 2 ? rs : null;
    }, 30_000, 50);
    expect(new Set(running.map((t) => t.backend))).toEqual(new Set(["fake-gpu0", "fake-gpu1"]));
    expect((await waitFinished(s, res.body.id)).status).toBe("succeeded");
    const fleet = await s.http("GET", "/v1/workers");
    expect(fleet.body.workers.find((w: { gpus: string[] }) => w.gpus.length === 2)).toMatchObject({ concurrency: 2, gpus: ["0", "1"] });
  }, 60_000);

  it("a trainer that crashes is retried and the trial succeeds; the failed attempt keeps its reason", async () => {
    const w = await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_WORKER_ID: "crashy", FAKE_FAIL: "crash-first" });
    const res = await s.http("POST", "/v1/sweeps", oneTrial(s.dataset.id, 3));
    const done = await waitFinished(s, res.body.id);
    await w.close();
    expect(done.status).toBe("succeeded");
    const trial = await s.http("GET", `/v1/trials/${res.body.trials[0].id}`);
    expect(trial.body.attempts[0].status).toBe("failed");
    expect(trial.body.attempts[0].errorReason).toBe("crashed");
    expect(trial.body.attempts[0].error).toContain("simulated crash");
    expect(trial.body.attempts.at(-1).status).toBe("succeeded");
  }, 90_000);

  it("a diverged trial is not retried (its seed is fixed): it fails at once with the reason, and the node is not blamed", async () => {
    const w = await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_MAX_ATTEMPTS: "3", HYPERSWEEP_QUARANTINE_FAILURES: "1", FAKE_FAIL: "nan" });
    const res = await s.http("POST", "/v1/sweeps", oneTrial(s.dataset.id, 3));
    const done = await waitFinished(s, res.body.id);
    expect(done.status).toBe("failed");
    const trial = await s.http("GET", `/v1/trials/${res.body.trials[0].id}`);
    expect(trial.body.status).toBe("failed");
    expect(trial.body.errorReason).toBe("diverged");
    expect(trial.body.error).toBe("loss became NaN at epoch 1");
    // One attempt of three allowed.
    expect(trial.body.attempts.map((a: { status: string; errorReason: string }) => [a.status, a.errorReason])).toEqual([["failed", "diverged"]]);
    expect(w.worker.isRunning()).toBe(true);
    expect(w.quarantined()).toBe(false);
    await w.close();
  }, 90_000);

  it("a line that is not a message fails the attempt, quoting the line", async () => {
    const w = await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_MAX_ATTEMPTS: "1", FAKE_FAIL: "garbage" });
    const res = await s.http("POST", "/v1/sweeps", oneTrial(s.dataset.id, 3));
    await waitFinished(s, res.body.id);
    await w.close();
    const trial = await s.http("GET", `/v1/trials/${res.body.trials[0].id}`);
    expect(trial.body.errorReason).toBe("protocol");
    expect(trial.body.error).toContain('"this is not json"');
  }, 60_000);

  it("cancel mid-sweep stops running trainers within seconds; queued trials never start", async () => {
    const w = await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", FAKE_EPOCH_MS: "300" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 40, learningRates: [1e-3, 1e-4], subsetsPerRate: 3 } }));
    const id = res.body.id;
    await eventually(async () => (await s.db.trial.count({ where: { sweepId: id, status: "running", epochsDone: { gte: 1 } } })) === 2, 30_000);
    const cancelledAt = Date.now();
    const c = await s.http("POST", `/v1/sweeps/${id}/cancel`);
    expect(c.body.status).toBe("cancelled");
    // The running attempts end (their trainers stop) within seconds.
    await eventually(async () => (await s.db.attempt.count({ where: { trial: { sweepId: id }, status: "running" } })) === 0, 10_000);
    const stoppedAfter = Date.now() - cancelledAt;
    expect(stoppedAfter).toBeLessThan(10_000);
    const trials = await s.db.trial.findMany({ where: { sweepId: id } });
    expect(trials.every((t) => t.status === "cancelled")).toBe(true);
    expect(trials.filter((t) => t.attemptCount === 0)).toHaveLength(4);
    // Nothing starts afterwards, and the epochs stop growing.
    const epochs = await s.db.epoch.count({ where: { trial: { sweepId: id } } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await s.db.epoch.count({ where: { trial: { sweepId: id } } })).toBe(epochs);
    expect(await s.db.attempt.count({ where: { trial: { sweepId: id } } })).toBe(2);
    await w.close();
  }, 90_000);
});
