/**
 * Redis emptied, Postgres or Redis unreachable mid-sweep: the API says which service is missing and answers
 * 503 instead of crashing, and the sweep completes once the service is back, with no result lost or doubled.
 * Redis is a private redis-server for this file (so FLUSHALL touches nobody else); outages go through a TCP
 * proxy that the test cuts and restores, so the machine's services keep running.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";
import { startPrivateRedis } from "./helpers/tcp-proxy.ts";

async function expectExactlyOnce(s: Stack, sweepId: string, epochs: number) {
  const trials = await s.db.trial.findMany({ where: { sweepId }, include: { attempts: true, epochs: true } });
  for (const t of trials) {
    expect(t.status).toBe("succeeded");
    expect(t.attempts.filter((a) => a.status === "succeeded")).toHaveLength(1);
    expect(t.epochs.map((e) => e.epoch).sort((a, b) => a - b)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
  }
  return trials;
}

describe("Redis emptied mid-sweep", () => {
  let s: Stack;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    s = await startStack("flush", { redisUrl: redis.url });
  });
  afterAll(async () => {
    await s?.close();
    await redis?.stop();
  });

  it("FLUSHALL: the reconciler restores the queue and the sweep completes, no trial lost or run twice to completion", async () => {
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", FAKE_EPOCH_MS: "150" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 4, learningRates: [1e-3, 1e-4], subsetsPerRate: 4 } }));
    const id = res.body.id;
    await eventually(async () => (await s.db.trial.count({ where: { sweepId: id, status: "succeeded" } })) >= 2, 30_000);
    const client = new Redis(redis.url);
    await client.flushall();
    expect(await client.dbsize()).toBe(0);
    await client.quit();
    const done = await eventually(async () => {
      const r = await s.http("GET", `/v1/sweeps/${id}`);
      return r.body.status === "succeeded" ? r.body : null;
    }, 60_000);
    expect(done.counts.succeeded).toBe(8);
    await expectExactlyOnce(s, id, 4);
  }, 90_000);
});

describe("Postgres and Redis unreachable mid-sweep", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("outage", { proxyPostgres: true, proxyRedis: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("Postgres cut: /readyz says so, the API answers 503, and the sweep completes once it is back", async () => {
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", FAKE_EPOCH_MS: "200" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 5, learningRates: [1e-3], subsetsPerRate: 4 } }));
    const id = res.body.id;
    await eventually(async () => (await s.db.epoch.count({ where: { trial: { sweepId: id } } })) >= 2, 30_000);
    await s.pgProxy!.cut();
    const ready = await s.http("GET", "/readyz", undefined, null);
    expect(ready.status).toBe(503);
    expect(ready.body.postgres.ok).toBe(false);
    expect(ready.body.redis.ok).toBe(true);
    const list = await s.http("GET", `/v1/sweeps/${id}`);
    expect(list.status).toBe(503);
    expect(list.body.error).toBe("UNAVAILABLE");
    await new Promise((r) => setTimeout(r, 3000)); // longer than the lease: the trainers keep going meanwhile
    await s.pgProxy!.restore();
    expect((await s.http("GET", "/healthz", undefined, null)).status).toBe(200);
    await eventually(async () => (await s.http("GET", `/v1/sweeps/${id}`)).body.status === "succeeded", 60_000);
    await expectExactlyOnce(s, id, 5);
    expect((await s.http("GET", "/readyz", undefined, null)).status).toBe(200);
  }, 120_000);

  it("Redis cut: /readyz says so, sweeps are still accepted, and everything completes once Redis is back", async () => {
    const res0 = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 3, learningRates: [1e-3], subsetsPerRate: 3 } }));
    const first = res0.body.id;
    await eventually(async () => (await s.db.epoch.count({ where: { trial: { sweepId: first } } })) >= 1, 30_000);
    await s.redisProxy!.cut();
    const ready = await s.http("GET", "/readyz", undefined, null);
    expect(ready.status).toBe(503);
    expect(ready.body.redis.ok).toBe(false);
    expect(ready.body.postgres.ok).toBe(true);
    // Postgres holds the plan; the reconciler enqueues it when Redis returns.
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 3, learningRates: [1e-4], subsetsPerRate: 2 } }));
    expect(res.status).toBe(201);
    expect(res.body.enqueued).toBe(false);
    await new Promise((r) => setTimeout(r, 2000));
    await s.redisProxy!.restore();
    for (const id of [first, res.body.id]) {
      await eventually(async () => (await s.http("GET", `/v1/sweeps/${id}`)).body.status === "succeeded", 60_000);
    }
    await expectExactlyOnce(s, first, 3);
    await expectExactlyOnce(s, res.body.id, 3);
  }, 120_000);
});
