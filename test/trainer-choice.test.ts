/**
 * Choosing the trainer per sweep: a trial goes only to a worker that runs its sweep's trainer. Real Postgres,
 * Redis, API, workers and trainer processes; the fixture trainer stands in for both trainers (under the pytorch
 * name on the second worker, through HYPERSWEEP_PYTORCH_CMD).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually, FAKE_TRAINER, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

interface FleetWorker { id: string; trainers: string[]; backends: Record<string, string> }

async function waitFinished(s: Stack, id: string, ms = 60_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/sweeps/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms);
}

const body = (s: Stack, extra: Record<string, unknown> = {}) => sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-3, 1e-4], subsetsPerRate: 2 }, ...extra });

describe("choosing the trainer", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("trainerchoice");
  });
  afterEach(async () => {
    await s?.stopWorkers();
  });
  afterAll(async () => {
    await s?.close();
  });

  it("a pytorch sweep runs only on the worker that runs pytorch; a tfjs sweep only on the tfjs one", async () => {
    await s.startWorker({ HYPERSWEEP_WORKER_ID: "tfjs-node", HYPERSWEEP_CONCURRENCY: "2" });
    const torch = await s.http("POST", "/v1/sweeps", body(s, { trainer: "pytorch" }));
    expect(torch.status).toBe(201);
    expect(torch.body.trainer).toBe("pytorch");
    expect(torch.body.spec.trainer).toBe("pytorch");
    expect((await s.db.trial.findMany({ where: { sweepId: torch.body.id } })).map((t) => t.trainer)).toEqual(["pytorch", "pytorch", "pytorch", "pytorch"]);
    // Only a tfjs worker so far: the pytorch sweep waits, untouched.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await s.db.attempt.count({ where: { trial: { sweepId: torch.body.id } } })).toBe(0);

    // This node reaches Postgres through the API (worker token): its trainers travel in the worker protocol.
    await s.startWorker({ ...(await s.viaApi()), HYPERSWEEP_WORKER_ID: "torch-node", HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_TRAINERS: "pytorch", HYPERSWEEP_PYTORCH_CMD: FAKE_TRAINER });
    const tf = await s.http("POST", "/v1/sweeps", body(s));
    expect(tf.body.trainer).toBe("tfjs");
    expect(tf.body.spec.trainer).toBeUndefined();
    expect((await waitFinished(s, torch.body.id)).status).toBe("succeeded");
    expect((await waitFinished(s, tf.body.id)).status).toBe("succeeded");

    const ranOn = async (sweepId: string) => new Set((await s.db.attempt.findMany({ where: { trial: { sweepId } } })).map((a) => a.workerId));
    expect(await ranOn(torch.body.id)).toEqual(new Set(["torch-node"]));
    expect(await ranOn(tf.body.id)).toEqual(new Set(["tfjs-node"]));

    const fleet = (await s.http("GET", "/v1/workers")).body.workers as FleetWorker[];
    expect(fleet.find((w) => w.id === "tfjs-node")).toMatchObject({ trainers: ["tfjs"], backends: { tfjs: "fake" } });
    expect(fleet.find((w) => w.id === "torch-node")).toMatchObject({ trainers: ["pytorch"], backends: { pytorch: "fake" } });
  }, 120_000);

  it("an unknown trainer is refused with 400 naming the field, and nothing is stored", async () => {
    const before = await s.db.sweep.count();
    const r = await s.http("POST", "/v1/sweeps", body(s, { trainer: "jax" }));
    expect(r.status).toBe(400);
    expect(r.body.issues.map((i: { path: string }) => i.path)).toEqual(["trainer"]);
    expect(await s.db.sweep.count()).toBe(before);
  });
});

describe("the server's default trainer", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("defaulttrainer", { apiEnv: { HYPERSWEEP_DEFAULT_TRAINER: "pytorch" } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("a sweep that names no trainer gets HYPERSWEEP_DEFAULT_TRAINER; one that names tfjs keeps tfjs", async () => {
    const unnamed = await s.http("POST", "/v1/sweeps", body(s));
    expect(unnamed.status).toBe(201);
    expect(unnamed.body.trainer).toBe("pytorch");
    const named = await s.http("POST", "/v1/sweeps", body(s, { trainer: "tfjs" }));
    expect(named.body.trainer).toBe("tfjs");
    const trainers = async (sweepId: string) => [...new Set((await s.db.trial.findMany({ where: { sweepId } })).map((t) => t.trainer))];
    expect(await trainers(unnamed.body.id)).toEqual(["pytorch"]);
    expect(await trainers(named.body.id)).toEqual(["tfjs"]);
  });
});
