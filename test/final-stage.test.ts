/**
 * The final stage runs by itself: when an architecture's search ends, its winner's final training is queued,
 * survives a worker killed mid-final and Redis emptied, happens exactly once per architecture, and the sweep is
 * finished only when its final trainings are. Real HTTP, Postgres, Redis (a private server, so FLUSHALL touches
 * nobody else), worker processes and the fixture trainer.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { selectBest } from "@hypersweep/core";
import { eventually, ROOT, startStack, sweepBody, type Stack } from "./helpers/stack.ts";
import { startPrivateRedis } from "./helpers/tcp-proxy.ts";
import { ensureFinalStage } from "@hypersweep/queue/reconcile";

const TWO_ARCHS = { architectures: ["small_cnn", "resnet18"] };

async function finished(s: Stack, id: string, ms = 90_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/sweeps/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms);
}

describe("the automatic final stage", () => {
  let s: Stack;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    s = await startStack("final", { redisUrl: redis.url });
  });
  afterAll(async () => {
    await s?.close();
    await redis?.stop();
  });

  it("queues each architecture's winner when its search ends; a worker killed mid-final and Redis emptied change nothing; one final per architecture", async () => {
    const doomed = s.spawnWorker({ HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_WORKER_ID: "doomed", FAKE_EPOCH_MS: "500" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, {
      ...TWO_ARCHS, overrides: { searchEpochs: 2, learningRates: [1e-3, 1e-4], subsetsPerRate: 1, finalEpochs: 12, patience: 4, final: true },
    }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const events = fetch(`${s.url}/v1/sweeps/${id}/events`, { headers: { authorization: `Bearer ${s.team.apiKey}` } }).then((r) => r.text());

    // The search ends, the sweep does not: a final training runs on the doomed worker.
    const running = await eventually(async () => {
      const t = await s.db.trial.findFirst({ where: { sweepId: id, stage: "final", leaseOwner: "doomed", epochsDone: { gte: 2 } } });
      return t ?? null;
    }, 60_000);
    const mid = (await s.http("GET", `/v1/sweeps/${id}`)).body;
    expect(mid.status).toBe("running");
    expect(mid.stages.search.counts.succeeded).toBe(4);
    expect(mid.stages.final).toMatchObject({ automatic: true, expected: 2 });
    expect(mid.stages.final.counts.running).toBeGreaterThanOrEqual(1);

    doomed.kill("SIGKILL");
    const client = new Redis(redis.url);
    await client.flushall();
    await client.quit();
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_WORKER_ID: "rescuer", FAKE_EPOCH_MS: "20" });

    const done = await finished(s, id);
    expect(done.status).toBe("succeeded");
    expect(done.stages.final).toMatchObject({ expected: 2, waiting: 0, counts: { succeeded: 2 } });
    expect(done.progress.fraction).toBe(1);

    // Exactly one final training per architecture, from that architecture's winner, run to its end once.
    const trials = (await s.http("GET", `/v1/sweeps/${id}/trials`)).body.trials as Array<{ id: string; stage: string; architecture: string; learningRate: number; augmentations: string[]; status: string; valAuc: number; valF1: number; valLoss: number; position: number }>;
    const finals = trials.filter((t) => t.stage === "final");
    expect(finals.map((f) => f.architecture).sort()).toEqual(["resnet18", "small_cnn"]);
    for (const f of finals) {
      const own = trials.filter((t) => t.stage === "search" && t.architecture === f.architecture);
      const winner = selectBest(own, "binary").winner!;
      expect([f.learningRate, f.augmentations]).toEqual([winner.learningRate, winner.augmentations]);
      const detail = (await s.http("GET", `/v1/trials/${f.id}`)).body;
      expect(detail.spec).toMatchObject({ stage: "final", epochs: 12, earlyStopping: { patience: 4 }, evaluateTest: true });
      expect(detail.attempts.filter((a: { status: string }) => a.status === "succeeded")).toHaveLength(1);
      expect(detail.epochs.map((e: { epoch: number }) => e.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    }
    expect((await s.db.trial.findUnique({ where: { id: running.id }, include: { attempts: true } }))!.attempts.map((a) => a.status)).toEqual(["lost", "succeeded"]);
    const best = (await s.http("GET", `/v1/best?dataset=${s.dataset.id}&scenario=ct/binary&architecture=resnet18`)).body;
    expect(best.winner.final).toMatchObject({ status: "succeeded" });
    expect(best.winner.final.metrics.test.intervals.auc.lower).toBeLessThan(best.winner.final.metrics.test.intervals.auc.upper);

    // Asking again (a retried job, the reconciler, a request) adds nothing.
    expect(await ensureFinalStage(s.db, s.queue, id)).toEqual([]);
    const again = await s.http("POST", `/v1/sweeps/${id}/final`, {});
    expect(again.status).toBe(200);
    expect(again.body.trials.map((t: { id: string }) => t.id).sort()).toEqual(finals.map((f) => f.id).sort());
    expect(await s.db.trial.count({ where: { sweepId: id, stage: "final" } })).toBe(2);

    // The events covered both stages and ended once, after the final trainings.
    const text = await events;
    const names = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(names.filter((n) => n === "final.queued").length).toBeGreaterThanOrEqual(1);
    expect(names.filter((n) => n === "sweep.finished")).toHaveLength(1);
    expect(text).toMatch(/"stage":"final"/);
    await s.stopWorkers();
  }, 150_000);

  it("final: false skips it (the sweep ends with its search); POST .../final still trains the winners", async () => {
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { ...TWO_ARCHS, overrides: { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 2, finalEpochs: 3, final: false } }));
    const done = await finished(s, res.body.id);
    expect(done.status).toBe("succeeded");
    expect(done.stages.final).toMatchObject({ automatic: false, expected: 0, trials: 0 });
    expect(await s.db.trial.count({ where: { sweepId: res.body.id, stage: "final" } })).toBe(0);
    const asked = await s.http("POST", `/v1/sweeps/${res.body.id}/final`, {});
    expect(asked.status).toBe(201);
    expect(asked.body.trials).toHaveLength(2);
    const after = await finished(s, res.body.id);
    expect(after.stages.final.counts.succeeded).toBe(2);
    await s.stopWorkers();
  }, 120_000);

  it("the reconciler queues a final training its worker never queued, and concurrent askers add one", async () => {
    // A search that ends with no worker left to queue its final stage: its trials are recorded directly.
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 1, learningRates: [1e-3], subsetsPerRate: 2, finalEpochs: 2, final: true } }));
    const id = res.body.id as string;
    await s.db.trial.updateMany({ where: { sweepId: id }, data: { status: "succeeded", selectionScore: 0.7, valAuc: 0.7, valF1: 0.5, valLoss: 0.4, epochsDone: 1, metrics: { auc: 0.7, f1: 0.5, valLoss: 0.4 } } });
    await s.db.sweep.update({ where: { id }, data: { status: "running" } });
    const asks = await Promise.all(Array.from({ length: 6 }, () => ensureFinalStage(s.db, s.queue, id)));
    expect(asks.flat()).toHaveLength(1);
    // Postgres itself refuses a second final training of the architecture, whoever writes it.
    const first = await s.db.trial.findFirstOrThrow({ where: { sweepId: id, stage: "final" } });
    const { id: _id, position, ...copy } = first;
    await expect(s.db.trial.create({ data: { ...copy, position: position + 1, spec: copy.spec as object, metrics: undefined } })).rejects.toThrow(/trials_one_final_per_architecture|Unique constraint/);
    await s.db.trial.deleteMany({ where: { sweepId: id, stage: "final" } });
    // Now nobody asks: the reconciler in a new worker does.
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1" });
    const done = await finished(s, id, 60_000);
    expect(done.status).toBe("succeeded");
    expect(await s.db.trial.count({ where: { sweepId: id, stage: "final", status: "succeeded" } })).toBe(1);
    await s.stopWorkers();
  }, 90_000);

  it("a final training that fails for good fails the sweep, naming the architecture and why: API, event, CLI (exit 5), sweeps list, report", async () => {
    // resnet18's final training diverges (not retried); small_cnn's succeeds.
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", FAKE_FAIL: "nan", FAKE_FAIL_STAGE: "final", FAKE_FAIL_ARCH: "resnet18" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { ...TWO_ARCHS, overrides: { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 2, finalEpochs: 3, final: true } }));
    const id = res.body.id as string;
    const events = fetch(`${s.url}/v1/sweeps/${id}/events`, { headers: { authorization: `Bearer ${s.team.apiKey}` } }).then((r) => r.text());
    const cli = promisify(execFile)("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), "watch", id], {
      cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey },
    }).then(() => ({ code: 0, stderr: "" }), (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }));

    const done = await finished(s, id);
    const why = "final training of resnet18 failed (diverged): loss became NaN at epoch 1";
    expect(done).toMatchObject({ status: "failed", error: why });
    expect(done.stages.search.counts.succeeded).toBe(4);
    expect(done.stages.final.counts).toMatchObject({ succeeded: 1, failed: 1 });

    const text = await events;
    const finishedEvent = text.split("\n\n").find((b) => b.startsWith("event: sweep.finished"))!;
    expect(JSON.parse(finishedEvent.split("data: ")[1]!)).toMatchObject({ status: "failed", error: why });
    // A stream opened after the end says the same.
    const late = await (await fetch(`${s.url}/v1/sweeps/${id}/events`, { headers: { authorization: `Bearer ${s.team.apiKey}` } })).text();
    expect(late).toContain(`"error":"${why}"`);

    const watched = await cli;
    expect(watched.code).toBe(5);
    expect(watched.stderr).toContain(`sweep ${id} failed: ${why}`);
    const status = await promisify(execFile)("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), "status", id], {
      cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey },
    });
    expect(status.stdout).toContain(`${id} failed:`);
    expect(status.stdout).toContain(`failed: ${why}`);

    const list = (await s.http("GET", "/v1/overview/sweeps")).body.sweeps.find((x: { id: string }) => x.id === id);
    expect(list).toMatchObject({ status: "failed", error: why });
    const report = await fetch(`${s.url}/v1/sweeps/${id}/report?format=md`, { headers: { authorization: `Bearer ${s.team.apiKey}` } }).then((r) => r.text());
    expect(report).toContain(`**The sweep failed:** ${why}`);
    // The winner that did train keeps its answer.
    const best = (await s.http("GET", `/v1/best?dataset=${s.dataset.id}&scenario=ct/binary&architecture=small_cnn`)).body;
    expect(best.winner.final).toMatchObject({ status: "succeeded" });
    await s.stopWorkers();
  }, 120_000);
});
