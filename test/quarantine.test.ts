/**
 * A node that keeps failing is quarantined: real Postgres, Redis, API, worker and trainer processes (the fixture
 * trainer, told to crash every trial of one learning rate on one node).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

interface FleetWorker {
  id: string;
  quarantine: null | { reason: string; since: string; until: string; attempts: Array<{ id: string; trialId: string | null; attempt: number; reason: string; message: string | null; finishedAt: string }> };
}

async function waitFinished(s: Stack, id: string, ms = 60_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/sweeps/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms);
}

describe("quarantine of failing nodes", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("quarantine");
  });
  afterEach(async () => {
    await s?.stopWorkers();
  });
  afterAll(async () => {
    await s?.close();
  });

  it("a node whose trainer keeps crashing is quarantined, finishes what it was running, its trial finishes elsewhere, and an admin release puts it back to work", async () => {
    const crashy = await s.startWorker({
      HYPERSWEEP_WORKER_ID: "crashy", HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_MAX_ATTEMPTS: "3", HYPERSWEEP_QUARANTINE_FAILURES: "3",
      FAKE_FAIL: "crash-always", FAKE_CRASH_LR: "0.001", FAKE_EPOCH_MS: "200",
    });
    // Two trials: 1e-3 crashes on this node at its first epoch; 1e-4 trains for 40 epochs (about 8 s).
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 40, learningRates: [1e-3, 1e-4], subsetsPerRate: 1 } }));
    expect(res.status).toBe(201);
    const planned = await s.db.trial.findMany({ where: { sweepId: res.body.id } });
    const crashing = planned.find((t) => t.learningRate === 1e-3)!.id;
    const healthy = planned.find((t) => t.learningRate === 1e-4)!.id;

    const q = await eventually(async () => {
      const fleet = await s.http("GET", "/v1/workers");
      return (fleet.body.workers as FleetWorker[]).find((w) => w.id === "crashy")?.quarantine;
    }, 30_000);
    expect(crashy.quarantined()).toBe(true);
    expect(q.reason).toBe("3 consecutive attempts failed for reasons of the node (crashed × 3)");
    expect(q.attempts.map((a) => [a.trialId, a.attempt, a.reason])).toEqual([[crashing, 3, "crashed"], [crashing, 2, "crashed"], [crashing, 1, "crashed"]]);
    expect(q.attempts[0].message).toContain("simulated crash");
    expect(new Date(q.until).getTime() - new Date(q.since).getTime()).toBe(30 * 60_000);

    // The trial it was running meanwhile is not handed to failure: it finishes on this node.
    const inFlight = await eventually(async () => {
      const t = await s.http("GET", `/v1/trials/${healthy}`);
      return t.body.status === "succeeded" ? t.body : null;
    }, 30_000);
    expect(inFlight.attempts.map((a: { workerId: string; status: string }) => [a.workerId, a.status])).toEqual([["crashy", "succeeded"]]);
    // The crashing trial waits (three attempts made, none counted) and the quarantined node takes it no more.
    await new Promise((r) => setTimeout(r, 1500));
    const waiting = await s.db.trial.findUniqueOrThrow({ where: { id: crashing } });
    expect([waiting.status, waiting.attemptCount, waiting.excusedAttempts]).toEqual(["queued", 3, 3]);

    // A healthy node finishes it: a fourth attempt, although the maximum is three.
    const other = await s.startWorker({ HYPERSWEEP_WORKER_ID: "healthy", HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_MAX_ATTEMPTS: "3" });
    expect((await waitFinished(s, res.body.id)).status).toBe("succeeded");
    const rescued = await s.http("GET", `/v1/trials/${crashing}`);
    expect(rescued.body.attempts.map((a: { workerId: string; status: string }) => [a.workerId, a.status])).toEqual([
      ["crashy", "failed"], ["crashy", "failed"], ["crashy", "failed"], ["healthy", "succeeded"],
    ]);
    await other.close();

    // Only the admin may release it.
    const byTeam = await s.http("POST", "/v1/admin/workers/crashy/release");
    expect(byTeam.status).toBe(401);
    expect((await s.http("POST", "/v1/admin/workers/crashy/release", undefined, null)).status).toBe(401);
    expect((await s.http("POST", "/v1/admin/workers/nobody/release", undefined, ADMIN_TOKEN)).status).toBe(404);
    expect(crashy.quarantined()).toBe(true);
    const released = await s.http("POST", "/v1/admin/workers/crashy/release", undefined, ADMIN_TOKEN);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ released: true, worker: { id: "crashy", quarantine: null, lastRelease: { by: "admin" } } });
    await eventually(async () => !crashy.quarantined(), 10_000);

    // It takes trials again: the only worker left runs the next sweep.
    const next = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-4], subsetsPerRate: 1 } }));
    expect((await waitFinished(s, next.body.id)).status).toBe("succeeded");
    const ran = await s.http("GET", `/v1/trials/${next.body.trials[0].id}`);
    expect(ran.body.attempts.map((a: { workerId: string; status: string }) => [a.workerId, a.status])).toEqual([["crashy", "succeeded"]]);
    const fleet = await s.http("GET", "/v1/workers");
    expect((fleet.body.workers as FleetWorker[]).find((w) => w.id === "crashy")?.quarantine).toBeNull();
  }, 120_000);

  it("after the cool-down the node takes trials again by itself", async () => {
    const node = await s.startWorker({
      HYPERSWEEP_WORKER_ID: "cooling", HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_QUARANTINE_FAILURES: "1", HYPERSWEEP_QUARANTINE_COOLDOWN_MS: "2000",
      FAKE_FAIL: "crash-always",
    });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 1 } }));
    await eventually(async () => node.quarantined(), 30_000);
    const row = await s.db.worker.findUniqueOrThrow({ where: { id: "cooling" } });
    // No admin: the cool-down ends it, and the node (alone in the fleet) takes the trial again.
    await eventually(async () => !node.quarantined(), 15_000);
    expect((await s.db.worker.findUniqueOrThrow({ where: { id: "cooling" } })).releasedBy).toBe("cool-down");
    const again = await eventually(async () => (await s.db.attempt.findMany({ where: { trial: { sweepId: res.body.id }, number: 2 } }))[0], 15_000);
    expect(again.workerId).toBe("cooling");
    expect(again.startedAt.getTime()).toBeGreaterThanOrEqual(row.quarantinedUntil!.getTime());
    await s.http("POST", `/v1/sweeps/${res.body.id}/cancel`);
  }, 60_000);

  it("another team sees the quarantine and its reason, not the first team's trials or messages; the admin sees all", async () => {
    const crashy = await s.startWorker({ HYPERSWEEP_WORKER_ID: "crashy-2", HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_QUARANTINE_FAILURES: "1", FAKE_FAIL: "crash-always" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 1 } }));
    await eventually(async () => crashy.quarantined(), 30_000);
    const other = await s.newTeam("quarantine-other");
    const theirs = (await s.http("GET", "/v1/workers", undefined, other.apiKey)).body.workers.find((w: FleetWorker) => w.id === "crashy-2") as FleetWorker;
    expect(theirs.quarantine?.reason).toContain("crashed × 1");
    expect(theirs.quarantine?.attempts.map((a) => [a.trialId, a.message, a.reason])).toEqual([[null, null, "crashed"]]);
    const admin = (await s.http("GET", "/v1/admin/workers", undefined, ADMIN_TOKEN)).body.workers.find((w: FleetWorker) => w.id === "crashy-2") as FleetWorker;
    expect(admin.quarantine?.attempts.map((a) => a.trialId)).toEqual([res.body.trials[0].id]);
    expect((await s.http("GET", "/v1/admin/workers", undefined, s.team.apiKey)).status).toBe(401);
  }, 60_000);
});
