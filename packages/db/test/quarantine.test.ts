/** Worker quarantine against the real Postgres: the decision, its race, excused attempts, release and cool-down. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimTrial, createDb, createSweep, createTeam, failAttempt, listWorkers, recordResult, registerWorker, releaseWorker, workerQuarantineState, type Db,
} from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const policy = { failures: 3, cooldownMs: 60_000 };
const lease = { leaseMs: 60_000, maxAttempts: 3 };
const crash = (maxAttempts = 3, quarantine = policy) => ({ reason: "crashed", message: "trainer exited with code 1", maxAttempts, quarantine });

describe("worker quarantine", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamId: string;
  let otherTeamId: string;
  let datasetId: string;
  let versionId: string;
  let n = 0;

  beforeAll(async () => {
    tdb = await createTestDatabase("quarantine");
    db = createDb(tdb.url);
    teamId = (await createTeam(db, "q-team")).team.id;
    otherTeamId = (await createTeam(db, "q-other")).team.id;
    const ds = await db.dataset.create({ data: { teamId, name: "d" } });
    datasetId = ds.id;
    versionId = (await db.datasetVersion.create({ data: { datasetId, contentHash: "h", storagePath: "/tmp/x", imageCount: 0, summary: {}, manifest: [] } })).id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  async function newSweep(count: number, team = teamId) {
    return createSweep(db, {
      teamId: team, datasetId, datasetVersionId: versionId, scenarioKey: "ct/binary", task: "binary", scenario: { key: "ct/binary" },
      preset: "p", spec: { final: false }, seed: 1, planHash: "x",
      trials: Array.from({ length: count }, (_, i) => ({ position: i, key: `k${i}`, architecture: "small_cnn", learningRate: 1e-3, augmentations: [], stage: "search" as const, spec: { epochs: 3 } })),
    });
  }
  async function newWorker() {
    const id = `node-${++n}`;
    await registerWorker(db, { id, host: "h", pid: n, gpus: [], backend: null, version: "t", concurrency: 2 });
    return id;
  }
  async function claim(trialId: string, workerId: string) {
    const c = await claimTrial(db, trialId, workerId, lease);
    if (c.kind !== "claimed") throw new Error(`not claimed: ${c.kind}`);
    return c.trial.attempt;
  }

  it("the third consecutive crash quarantines the worker; those attempts no longer count, so the trial is retried", async () => {
    const w = await newWorker();
    const s = await newSweep(1);
    const id = s.trials[0].id;
    expect(await failAttempt(db, id, await claim(id, w), crash())).toEqual({ retry: true });
    expect(await failAttempt(db, id, await claim(id, w), crash())).toEqual({ retry: true });
    expect((await workerQuarantineState(db, w)).quarantined).toBe(false);
    const third = await failAttempt(db, id, await claim(id, w), crash());
    // Without the excuse this trial would have used its 3 attempts and failed for good.
    expect(third.retry).toBe(true);
    expect(third.quarantined?.reason).toBe("3 consecutive attempts failed for reasons of the node (crashed × 3)");
    expect((await workerQuarantineState(db, w)).quarantined).toBe(true);
    const t = await db.trial.findUniqueOrThrow({ where: { id } });
    expect([t.status, t.attemptCount, t.excusedAttempts]).toEqual(["queued", 3, 3]);
    // It can be claimed again (by a healthy worker) although three attempts were made.
    expect(await claim(id, await newWorker())).toBe(4);

    const fleet = await listWorkers(db, 30_000, teamId);
    const q = fleet.find((x) => x.id === w)!.quarantine!;
    expect(q.reason).toContain("crashed × 3");
    expect(q.attempts.map((a) => [a.trialId, a.attempt, a.reason, a.message])).toEqual([3, 2, 1].map((k) => [id, k, "crashed", "trainer exited with code 1"]));
    expect(q.until.getTime() - q.since.getTime()).toBe(60_000);
    // Another team sees that the node is quarantined and why, not this team's trials or messages.
    const theirs = (await listWorkers(db, 30_000, otherTeamId)).find((x) => x.id === w)!.quarantine!;
    expect(theirs.attempts.map((a) => [a.trialId, a.message, a.reason])).toEqual([[null, null, "crashed"], [null, null, "crashed"], [null, null, "crashed"]]);
  });

  it("divergence, a bad spec and a success are not node failures: they break the streak", async () => {
    const w = await newWorker();
    const s = await newSweep(6);
    const [a, b, c, d, e, f] = s.trials.map((t) => t.id);
    await failAttempt(db, a, await claim(a, w), crash());
    await failAttempt(db, b, await claim(b, w), crash());
    expect(await failAttempt(db, c, await claim(c, w), { reason: "diverged", message: "NaN", maxAttempts: 3, retryable: false, quarantine: policy })).toEqual({ retry: false });
    await failAttempt(db, d, await claim(d, w), crash());
    await recordResult(db, e, await claim(e, w), { bestEpoch: 1, metrics: {}, valAuc: 0.8, valF1: 0.5, valLoss: 0.3, selectionScore: 0.8, tiebreakScore: 0.5 });
    await failAttempt(db, f, await claim(f, w), crash());
    expect((await workerQuarantineState(db, w)).quarantined).toBe(false);
    // The diverged trial failed at once, with its reason, and nothing was excused.
    const diverged = await db.trial.findUniqueOrThrow({ where: { id: c } });
    expect([diverged.status, diverged.errorReason, diverged.attemptCount]).toEqual(["failed", "diverged", 1]);
    expect(await db.trial.count({ where: { sweepId: s.id, excusedAttempts: { gt: 0 } } })).toBe(0);
  });

  it("failures a trial also had on another worker, for the same reason, are the trial's: they quarantine no node", async () => {
    const [w1, w2] = [await newWorker(), await newWorker()];
    const s = await newSweep(3);
    // A corrupt dataset: every trial fails with a data error wherever it runs.
    const data = { reason: "data", message: "missing image 3f2a….png", maxAttempts: 10, quarantine: policy };
    for (const t of s.trials) await failAttempt(db, t.id, await claim(t.id, w1), data);
    expect((await workerQuarantineState(db, w1)).quarantined).toBe(true); // the first node cannot tell yet
    for (const t of s.trials) await failAttempt(db, t.id, await claim(t.id, w2), data);
    expect((await workerQuarantineState(db, w2)).quarantined).toBe(false);
    expect((await db.trial.findMany({ where: { sweepId: s.id } })).map((t) => t.excusedAttempts)).toEqual([1, 1, 1]);
  });

  it("two slots of one worker failing at the same moment cannot both miss the decision", async () => {
    for (let round = 0; round < 5; round++) {
      const w = await newWorker();
      const s = await newSweep(2);
      const attempts = await Promise.all(s.trials.map(async (t) => ({ id: t.id, attempt: await claim(t.id, w) })));
      const out = await Promise.all(attempts.map((x) => failAttempt(db, x.id, x.attempt, crash(3, { failures: 2, cooldownMs: 60_000 }))));
      expect(out.filter((o) => o.quarantined)).toHaveLength(1);
      expect((await workerQuarantineState(db, w)).quarantined).toBe(true);
      expect(await db.trial.count({ where: { sweepId: s.id, excusedAttempts: 1 } })).toBe(2);
    }
  });

  it("a trial a bad node failed for good is owed a run again once that node is quarantined", async () => {
    const w = await newWorker();
    const s = await newSweep(3);
    const [a, b, c] = s.trials.map((t) => t.id);
    // One attempt each: the first trial fails for good before the node is judged.
    expect(await failAttempt(db, a, await claim(a, w), crash(1))).toEqual({ retry: false });
    expect((await db.trial.findUniqueOrThrow({ where: { id: a } })).status).toBe("failed");
    await failAttempt(db, b, await claim(b, w), crash(1));
    const third = await failAttempt(db, c, await claim(c, w), crash(1));
    expect(third.quarantined).toBeDefined();
    expect(third.retry).toBe(true);
    expect(third.requeued?.map((r) => r.trialId).sort()).toEqual([a, b].sort());
    const rows = await db.trial.findMany({ where: { sweepId: s.id } });
    expect(rows.map((t) => [t.status, t.finishedAt, t.excusedAttempts])).toEqual([["queued", null, 1], ["queued", null, 1], ["queued", null, 1]]);
    expect((await db.sweep.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("running");
  });

  it("an admin release ends the quarantine, and only later failures count towards the next", async () => {
    const w = await newWorker();
    const s = await newSweep(4);
    for (const t of s.trials.slice(0, 3)) await failAttempt(db, t.id, await claim(t.id, w), crash());
    expect((await workerQuarantineState(db, w)).quarantined).toBe(true);
    expect(await releaseWorker(db, w)).toEqual({ wasQuarantined: true });
    expect(await releaseWorker(db, "no-such-worker")).toBeNull();
    const state = await workerQuarantineState(db, w);
    expect(state.quarantined).toBe(false);
    const row = (await listWorkers(db)).find((x) => x.id === w)!;
    expect([row.quarantine, row.lastRelease?.by]).toEqual([null, "admin"]);
    // One more crash after the release is one, not four.
    const last = s.trials[3].id;
    const again = await failAttempt(db, last, await claim(last, w), crash());
    expect(again.quarantined).toBeUndefined();
    expect((await workerQuarantineState(db, w)).quarantined).toBe(false);
  });

  it("the cool-down ends a quarantine by itself", async () => {
    const w = await newWorker();
    const s = await newSweep(1);
    const id = s.trials[0].id;
    const out = await failAttempt(db, id, await claim(id, w), crash(3, { failures: 1, cooldownMs: 1000 }));
    expect(out.quarantined).toBeDefined();
    expect((await workerQuarantineState(db, w)).quarantined).toBe(true);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await workerQuarantineState(db, w)).quarantined).toBe(false);
    expect((await db.worker.findUniqueOrThrow({ where: { id: w } })).releasedBy).toBe("cool-down");
  });
});
