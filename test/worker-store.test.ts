/**
 * /v1/worker/*: the truth for worker nodes without database credentials. Every write is fenced by the lease
 * exactly as when a worker runs the statement itself, and a request sent again (a node retrying after a timeout
 * whose first copy was committed) records nothing twice. Real API, Postgres and Redis; no worker runs here, the
 * test speaks for one.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpWorkerStore } from "../apps/worker/src/http-store.ts";
import { whileDbDown } from "../apps/worker/src/trial-processor.ts";
import { startWorkerNode } from "../apps/worker/src/worker.ts";
import { parseEnv, workerEnv } from "@hypersweep/config";
import { startTcpProxy } from "./helpers/tcp-proxy.ts";
import { testQueuePrefix } from "./helpers/test-db.ts";
import { eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

let s: Stack;
let token: string;
beforeAll(async () => {
  s = await startStack("wstore");
  token = (await s.viaApi()).HYPERSWEEP_WORKER_TOKEN!;
});
afterAll(async () => s?.close());

const w = (method: string, path: string, body?: unknown) => s.http(method, `/v1/worker${path}`, body, token);
const lease = { leaseMs: 30_000, maxAttempts: 3 };
const epoch = (n: number, valLoss = 1 / n) => ({ epoch: n, trainLoss: 1 / n, valLoss, lr: 1e-3, durationMs: 5, metrics: { auc: 0.5 + n / 100, f1: 0.5 } });
const result = (score: number) => ({ bestEpoch: 2, metrics: { auc: score, valLoss: 0.5 }, valAuc: score, valF1: 0.5, valLoss: 0.5, selectionScore: score, tiebreakScore: 0.5, epochs: [epoch(1), epoch(2)], backend: "fake" });

async function queuedTrials(n: number): Promise<string[]> {
  const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: n } }));
  expect(res.status).toBe(201);
  return res.body.trials.map((t: { id: string }) => t.id);
}

describe("worker routes", () => {
  it("each write sent twice is recorded once: epochs overwrite, a repeated result or failure answers as the first did", async () => {
    const [a, b] = await queuedTrials(2);
    const claim = await w("POST", `/trials/${a}/claim`, { workerId: "node-1", ...lease });
    expect(claim.status).toBe(200);
    expect(claim.body).toMatchObject({ kind: "claimed", trial: { trialId: a, attempt: 1, epochsDone: 0, architecture: "small_cnn" } });
    for (let i = 0; i < 2; i++) {
      expect((await w("POST", `/trials/${a}/attempts/1/started`, { backend: "fake" })).body).toEqual({ ok: true });
      expect((await w("POST", `/trials/${a}/attempts/1/epochs`, { record: epoch(1), leaseMs: 30_000 })).body).toEqual({ ok: true });
      expect((await w("POST", `/trials/${a}/attempts/1/heartbeat`, { leaseMs: 30_000 })).body).toEqual({ held: true });
    }
    expect(await s.db.epoch.count({ where: { trialId: a } })).toBe(1);
    expect((await w("POST", `/trials/${a}/attempts/1/result`, result(0.8))).body).toEqual({ ok: true });
    // The same request again (its first answer never reached the node): answered, nothing recorded again.
    const again = await w("POST", `/trials/${a}/attempts/1/result`, result(0.99));
    expect(again).toEqual({ status: 200, body: { ok: true, replayed: true } });
    const t = await s.db.trial.findUniqueOrThrow({ where: { id: a }, include: { attempts: true, epochs: true } });
    expect([t.status, t.selectionScore, t.attempts.length, t.attempts[0]!.status, t.epochs.length]).toEqual(["succeeded", 0.8, 1, "succeeded", 2]);
    // The trial is finished: a late claim says so and opens no attempt.
    expect((await w("POST", `/trials/${a}/claim`, { workerId: "node-2", ...lease })).body).toEqual({ kind: "done", status: "succeeded" });

    await w("POST", `/trials/${b}/claim`, { workerId: "node-1", ...lease });
    const fail = { reason: "crashed", message: "trainer was killed by SIGSEGV", maxAttempts: 3 };
    expect((await w("POST", `/trials/${b}/attempts/1/failure`, fail)).body).toEqual({ retry: true });
    expect((await w("POST", `/trials/${b}/attempts/1/failure`, fail)).body).toEqual({ retry: true });
    const tb = await s.db.trial.findUniqueOrThrow({ where: { id: b }, include: { attempts: true } });
    expect([tb.status, tb.attemptCount, tb.attempts.map((x) => [x.status, x.errorReason])]).toEqual(["queued", 1, [["failed", "crashed"]]]);
  });

  it("the lease fences every write: an attempt that lost its trial is refused (409), never taken for a repeat", async () => {
    const [id] = await queuedTrials(1);
    await w("POST", `/trials/${id}/claim`, { workerId: "slow", ...lease });
    // Another live attempt holds it: a second claim waits.
    const held = await w("POST", `/trials/${id}/claim`, { workerId: "fast", ...lease });
    expect(held.body.kind).toBe("held");
    expect(Date.parse(held.body.until)).toBeGreaterThan(Date.now());
    // The first node stops heartbeating; its lease expires and another node takes the trial over.
    await s.db.trial.update({ where: { id }, data: { leaseExpiresAt: new Date(Date.now() - 1000) } });
    expect((await w("POST", `/trials/${id}/claim`, { workerId: "fast", ...lease })).body).toMatchObject({ kind: "claimed", trial: { attempt: 2 } });
    for (const [path, body] of [
      ["epochs", { record: epoch(1), leaseMs: 30_000 }],
      ["result", result(0.9)],
      ["failure", { reason: "crashed", message: "x", maxAttempts: 3 }],
    ] as const) {
      const r = await w("POST", `/trials/${id}/attempts/1/${path}`, body);
      expect([path, r.status, r.body.error]).toEqual([path, 409, "LEASE_LOST"]);
    }
    expect((await w("POST", `/trials/${id}/attempts/1/heartbeat`, { leaseMs: 30_000 })).body).toEqual({ held: false });
    expect((await w("POST", `/trials/${id}/attempts/2/result`, result(0.7))).body).toEqual({ ok: true });
    const t = await s.db.trial.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: "asc" } } } });
    expect([t.selectionScore, t.attempts.map((a) => [a.workerId, a.status])]).toEqual([0.7, [["slow", "lost"], ["fast", "succeeded"]]]);
  });

  it("a result sent with ?final=check queues the final stage it makes due before answering; other nodes' requests answer as before", async () => {
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 2, final: true } }));
    expect(res.status).toBe(201);
    const [a, b] = res.body.trials.map((t: { id: string }) => t.id) as string[];
    const finals = () => s.db.trial.findMany({ where: { sweepId: res.body.id, stage: "final" } });
    for (const id of [a!, b!]) await w("POST", `/trials/${id}/claim`, { workerId: "node-1", ...lease });
    // The search is not over after the first result: nothing to queue, and the node need not ask.
    expect((await w("POST", `/trials/${a}/attempts/1/result?final=check`, result(0.7))).body).toEqual({ ok: true, finalStageChecked: true });
    expect(await finals()).toHaveLength(0);
    // The last search trial: its winner's final training exists when the answer arrives.
    expect((await w("POST", `/trials/${b}/attempts/1/result?final=check`, result(0.9))).body).toEqual({ ok: true, finalStageChecked: true });
    const [final] = await finals();
    expect(final?.spec).toMatchObject({ stage: "final" });
    expect(await s.db.trial.count({ where: { sweepId: res.body.id, stage: "final", status: "queued" } })).toBe(1);
    // A repeat cannot know what its first copy queued: the node is told to look itself.
    expect((await w("POST", `/trials/${b}/attempts/1/result?final=check`, result(0.9))).body).toEqual({ ok: true, replayed: true, finalStageChecked: false });
    const bad = await w("POST", `/trials/${b}/attempts/1/result?final=maybe`, result(0.9));
    expect([bad.status, bad.body.issues?.[0]?.path]).toEqual([400, "querystring.final"]);
  });

  it("refuses malformed writes with 400 naming the field, and stores nothing", async () => {
    const [id] = await queuedTrials(1);
    await w("POST", `/trials/${id}/claim`, { workerId: "node-1", ...lease });
    const { valLoss: _, ...noLoss } = epoch(1);
    const bad = await w("POST", `/trials/${id}/attempts/1/epochs`, { record: noLoss, leaseMs: 30_000 });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toContain("record.valLoss");
    expect((await w("POST", `/trials/not-a-trial/claim`, { workerId: "n", ...lease })).status).toBe(400);
    const mismatch = await w("PUT", "/nodes/node-9", { id: "node-8", host: "h", pid: 1, gpus: [], backend: null, version: "0.1.0", concurrency: 1 });
    expect([mismatch.status, mismatch.body.issues[0].path]).toEqual([400, "id"]);
    expect(await s.db.epoch.count({ where: { trialId: id } })).toBe(0);
  });
});

/** An HTTP proxy in front of the API that loses the answer to the first request whose path matches. */
async function answerLosingProxy(target: string, match: RegExp): Promise<{ url: string; seen: () => number; close: () => Promise<void> }> {
  const up = new URL(target);
  let seen = 0;
  const server: Server = createServer((req, res) => {
    const hit = match.test(req.url ?? "");
    if (hit) seen++;
    const fwd = httpRequest({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      if (hit && seen === 1) {
        // The API has committed and answered; the node never hears it.
        answer.resume();
        answer.on("end", () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: () => seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe("HttpWorkerStore", () => {
  it("retries a result whose answer was lost and records it once; the retried failure gives the first answer", async () => {
    const [a, b] = await queuedTrials(2);
    for (const [id, match] of [[a, /\/result(\?|$)/], [b, /\/failure$/]] as const) {
      const proxy = await answerLosingProxy(s.url, match);
      const store = new HttpWorkerStore(proxy.url, token);
      const c = await store.claim(id, "node-lossy", lease);
      expect(c.kind).toBe("claimed");
      await store.recordEpoch(id, 1, epoch(1), 30_000);
      await store.recordEpoch(id, 1, epoch(2), 30_000);
      if (id === a) {
        await expect(store.recordResult(id, 1, result(0.8))).rejects.toSatisfy((e) => store.isUnavailable(e));
        await whileDbDown(() => store.recordResult(id, 1, result(0.8)), 10_000, store.isUnavailable);
      } else {
        await expect(store.failAttempt(id, 1, { reason: "crashed", message: "boom", maxAttempts: 1 })).rejects.toSatisfy((e) => store.isUnavailable(e));
        expect(await whileDbDown(() => store.failAttempt(id, 1, { reason: "crashed", message: "boom", maxAttempts: 1 }), 10_000, store.isUnavailable)).toEqual({ retry: false });
      }
      expect(proxy.seen()).toBe(2);
      await proxy.close();
    }
    const ta = await s.db.trial.findUniqueOrThrow({ where: { id: a }, include: { attempts: true, epochs: true } });
    expect([ta.status, ta.attempts.map((x) => x.status), ta.epochs.length]).toEqual(["succeeded", ["succeeded"], 2]);
    const tb = await s.db.trial.findUniqueOrThrow({ where: { id: b }, include: { attempts: true } });
    expect([tb.status, tb.attempts.map((x) => x.status)]).toEqual(["failed", ["failed"]]);
  });

  it("a claim whose answer was lost is sent again with its key and gets the attempt it opened; without the key a second attempt waits out the first's lease", async () => {
    await queuedTrials(2);
    const proxy = await answerLosingProxy(s.url, /\/claim-next/);
    const store = new HttpWorkerStore(proxy.url, token);
    const opts = { ...lease, claimKey: "6f1c0c3e-claim-key" };
    await expect(store.claimNext("node-keyed", opts)).rejects.toSatisfy((e) => store.isUnavailable(e));
    const again = await store.claimNext("node-keyed", { ...opts, repeat: true });
    if (again.kind !== "claimed") throw new Error("the repeat claimed nothing");
    const held = await s.db.attempt.findMany({ where: { workerId: "node-keyed" } });
    expect(held.map((x) => [x.trialId, x.number, x.status])).toEqual([[again.trial.trialId, again.trial.attempt, "running"]]);
    await proxy.close();
    await store.close();
    // The same loss without a key (a node that predates it): the repeat opens an attempt on another trial, and
    // the first stays held by a node that never heard of it until its lease runs out.
    const proxy2 = await answerLosingProxy(s.url, /\/claim-next/);
    const old = new HttpWorkerStore(proxy2.url, token);
    await expect(old.claimNext("node-unkeyed", lease)).rejects.toSatisfy((e) => old.isUnavailable(e));
    expect((await old.claimNext("node-unkeyed", lease)).kind).toBe("claimed");
    const wasted = await s.db.attempt.findMany({ where: { workerId: "node-unkeyed" } });
    expect(new Set(wasted.map((x) => x.trialId)).size).toBe(2);
    await proxy2.close();
    await old.close();
  });

  it("a node that cannot reach the API says so while it waits, and registers once it can", async () => {
    const proxy = await startTcpProxy(Number(new URL(s.url).port));
    await proxy.cut();
    const url = `http://127.0.0.1:${proxy.port}`;
    const config = parseEnv(workerEnv, s.workerEnv({ HYPERSWEEP_API_URL: url, HYPERSWEEP_WORKER_TOKEN: token, HYPERSWEEP_WORKER_ID: "node-waiting", HYPERSWEEP_QUEUE_PREFIX: testQueuePrefix("waiting") }));
    const logs: string[] = [];
    const runner = { run: async () => ({ kind: "error" as const, reason: "internal", message: "no trial runs here", retryable: true }) };
    const starting = startWorkerNode({ config, store: new HttpWorkerStore(url, token, { timeoutMs: 2000 }), runner, log: (m) => logs.push(m) });
    await eventually(async () => logs.find((l) => l.startsWith("cannot register yet:")), 10_000, 50);
    expect(logs[0]).toMatch(/^cannot register yet: PUT \/nodes\/node-waiting: the API at .* did not answer .*; retrying for up to 15 minutes$/);
    expect(await s.db.worker.count({ where: { id: "node-waiting" } })).toBe(0);
    await proxy.restore();
    const node = await starting;
    expect(await s.db.worker.count({ where: { id: "node-waiting" } })).toBe(1);
    await node.close();
    await proxy.close();
  });

  it("an API that does not answer is 'unavailable' (wait and retry), a wrong token is not", async () => {
    const down = new HttpWorkerStore("http://127.0.0.1:9", token, { timeoutMs: 2000 });
    await expect(down.workerHeartbeat("n")).rejects.toSatisfy((e) => down.isUnavailable(e));
    const wrong = new HttpWorkerStore(s.url, "hsw_not-a-token-at-all");
    const err = await wrong.workerHeartbeat("n").catch((e: Error) => e);
    expect(wrong.isUnavailable(err)).toBe(false);
    expect((err as Error).message).toContain("401");
  });
});
