/**
 * Workers that reach Postgres through the API (HYPERSWEEP_API_URL + a worker token, no DATABASE_URL in their
 * environment): a sweep with its final stage runs to its end, a worker killed mid-trial loses no result and
 * records none twice, and the API restarting mid-run loses nothing. Real worker processes, the fixture trainer,
 * real Postgres and Redis; the API of the last test is a child process that the test kills and starts again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, eventually, ROOT, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

async function finished(s: Stack, id: string, ms = 90_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/sweeps/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms);
}

/** Every trial of the sweep succeeded with exactly one succeeded attempt and every epoch recorded once. */
async function expectExactlyOnce(s: Stack, sweepId: string) {
  const trials = await s.db.trial.findMany({ where: { sweepId }, include: { attempts: true, epochs: true } });
  for (const t of trials) {
    expect(t.status).toBe("succeeded");
    expect(t.attempts.filter((a) => a.status === "succeeded")).toHaveLength(1);
    const epochs = t.epochs.map((e) => e.epoch).sort((a, b) => a - b);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
    expect(epochs.length).toBe(t.epochsDone);
  }
  return trials;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });

describe("workers without database credentials", () => {
  let s: Stack;
  let api: ChildProcess | undefined;
  beforeAll(async () => {
    // The API runs the reconciler: workers that reach Postgres through it run none of their own.
    s = await startStack("proxy", { apiEnv: { HYPERSWEEP_RECONCILE_MS: "1000" } });
  });
  afterEach(async () => {
    await s?.stopWorkers();
    if (api && api.exitCode === null) api.kill("SIGKILL");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("a sweep with its final stage runs to its end on worker processes whose environment holds no DATABASE_URL", async () => {
    const env = await s.viaApi();
    expect(s.workerEnv(env).DATABASE_URL).toBeUndefined();
    for (const id of ["api-a", "api-b"]) s.spawnWorker({ ...env, HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_WORKER_ID: id, FAKE_EPOCH_MS: "30" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, {
      overrides: { searchEpochs: 3, learningRates: [1e-3, 1e-4], subsetsPerRate: 3, finalEpochs: 4, patience: 4, final: true },
    }));
    expect(res.status).toBe(201);
    const done = await finished(s, res.body.id);
    expect(done.status).toBe("succeeded");
    expect(done.stages.final).toMatchObject({ expected: 1, counts: { succeeded: 1 } });
    const trials = await expectExactlyOnce(s, res.body.id);
    expect(trials.filter((t) => t.stage === "search")).toHaveLength(6);
    // The workers named in the attempts are the two nodes, registered (and heartbeating) through the API.
    const owners = new Set(trials.flatMap((t) => t.attempts.map((a) => a.workerId)));
    expect([...owners].every((o) => o === "api-a" || o === "api-b")).toBe(true);
    const fleet = (await s.http("GET", "/v1/workers")).body.workers as Array<{ id: string; alive: boolean; backend: string }>;
    expect(fleet.filter((w) => w.id.startsWith("api-")).map((w) => [w.id, w.alive, w.backend]).sort()).toEqual([["api-a", true, "fake"], ["api-b", true, "fake"]]);
    // The trainers' results went through the same scoring and statements as a direct worker's.
    const final = trials.find((t) => t.stage === "final")!;
    expect(final.metrics).toMatchObject({ test: expect.any(Object) });
    expect(final.attempts[0]!.backend).toBe("fake");
  }, 120_000);

  it("SIGKILL of such a worker mid-trial: another finishes it from the checkpoint; one result, every epoch once", async () => {
    const doomed = s.spawnWorker({ ...(await s.viaApi()), HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_WORKER_ID: "doomed-api", FAKE_EPOCH_MS: "300" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 8, learningRates: [1e-3], subsetsPerRate: 1 } }));
    const trialId = res.body.trials[0].id as string;
    await eventually(async () => {
      const t = await s.db.trial.findUnique({ where: { id: trialId } });
      return t && t.leaseOwner === "doomed-api" && t.epochsDone >= 2;
    }, 30_000);
    doomed.kill("SIGKILL");
    s.spawnWorker({ ...(await s.viaApi()), HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_WORKER_ID: "rescuer-api", FAKE_EPOCH_MS: "50" });
    expect((await finished(s, res.body.id)).status).toBe("succeeded");
    const trial = (await s.http("GET", `/v1/trials/${trialId}`)).body;
    expect(trial.attempts.map((a: { workerId: string; status: string }) => [a.workerId, a.status])).toEqual([["doomed-api", "lost"], ["rescuer-api", "succeeded"]]);
    expect(trial.attempts[1].resumedFrom).toBeGreaterThanOrEqual(2);
    expect(trial.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await s.db.epoch.count({ where: { trialId } })).toBe(8);
  }, 90_000);

  it("the API killed and started again mid-run: the workers wait for it, and every result is recorded exactly once", async () => {
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const startApi = () => {
      const child = spawn("node", ["--import", "tsx", join(ROOT, "apps/api/src/main.ts")], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: s.tdb.url, REDIS_URL: s.workerEnv().REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: s.prefix, PORT: String(port), HOST: "127.0.0.1", HYPERSWEEP_ADMIN_TOKEN: ADMIN_TOKEN, HYPERSWEEP_RECONCILE_MS: "1000", LOG_LEVEL: "warn" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr?.resume();
      return child;
    };
    const up = () => eventually(async () => (await fetch(`${apiUrl}/healthz`)).ok, 60_000, 200);
    api = startApi();
    await up();
    // A lease longer than the restart: the outage is waited out, not turned into retried attempts.
    const env = { ...(await s.viaApi(apiUrl)), HYPERSWEEP_CONCURRENCY: "2", FAKE_EPOCH_MS: "250", HYPERSWEEP_LEASE_MS: "60000", HYPERSWEEP_LOCK_MS: "60000" };
    s.spawnWorker({ ...env, HYPERSWEEP_WORKER_ID: "restart-a" });
    s.spawnWorker({ ...env, HYPERSWEEP_WORKER_ID: "restart-b" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 6, learningRates: [1e-3, 1e-4], subsetsPerRate: 3 } }));
    const id = res.body.id as string;
    await eventually(async () => (await s.db.trial.count({ where: { sweepId: id, status: "running", epochsDone: { gte: 1 } } })) >= 2, 60_000);
    const killedAt = new Date();
    const exited = new Promise((r) => api!.once("exit", r));
    api.kill("SIGKILL");
    await exited;
    await new Promise((r) => setTimeout(r, 1500));
    api = startApi();
    await up();
    expect((await finished(s, id, 120_000)).status).toBe("succeeded");
    const trials = await expectExactlyOnce(s, id);
    expect(trials.flatMap((t) => t.attempts).map((a) => a.status)).toEqual(trials.map(() => "succeeded"));
    // Some trials were mid-run when the API died: they started before and finished after, in one attempt.
    const across = trials.filter((t) => t.attempts[0]!.startedAt < killedAt && t.finishedAt! > killedAt);
    expect(across.length).toBeGreaterThanOrEqual(2);
    for (const t of across) expect(t.epochs).toHaveLength(6);
  }, 180_000);
});
