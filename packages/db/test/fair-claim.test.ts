/** The fair claim against the real Postgres: order between and within teams, quotas under concurrency, trainers, expired leases. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  claimNextTrial, createDb, createSweep, createTeam, failExhaustedTrials, recordResult, releaseAttempt, setSweepPriority, updateTeamShare, type Db,
} from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const result = { bestEpoch: 1, metrics: { auc: 0.7 }, valAuc: 0.7, valF1: 0.4, valLoss: 0.3, selectionScore: 0.7, tiebreakScore: 0.4 };

describe("fair claim", () => {
  let tdb: TestDatabase;
  let db: Db;
  const opts = { leaseMs: 60_000, maxAttempts: 2 };
  let n = 0;

  beforeAll(async () => {
    tdb = await createTestDatabase("fairclaim");
    db = createDb(tdb.url, { poolSize: 12 });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });
  beforeEach(async () => {
    // Each case starts with nothing owed.
    await db.pool.query(`UPDATE trials SET status = 'cancelled' WHERE status IN ('queued', 'running')`);
  });

  async function team() {
    const id = (await createTeam(db, `team-${n++}`)).team.id;
    const ds = await db.dataset.create({ data: { teamId: id, name: "d" } });
    const v = await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "h", storagePath: "/tmp/x", imageCount: 0, summary: {}, manifest: [] } });
    const submit = (trials: number, priority = 0) =>
      createSweep(db, {
        teamId: id, datasetId: ds.id, datasetVersionId: v.id, scenarioKey: "ct/binary", task: "binary", scenario: { key: "ct/binary" },
        preset: "p", spec: { final: false }, seed: 1, planHash: "x", priority,
        trials: Array.from({ length: trials }, (_, i) => ({ position: i, key: `k${i}`, architecture: "small_cnn", learningRate: 1e-3, augmentations: [], stage: "search" as const, spec: { epochs: 1 } })),
      });
    return { id, submit };
  }
  const claim = (worker = "w", trainers?: string[]) => claimNextTrial(db, worker, { ...opts, trainers });
  const claimed = async (worker = "w", trainers?: string[]) => {
    const c = await claim(worker, trainers);
    if (c.kind !== "claimed") throw new Error(`nothing claimed (owed: ${c.owed})`);
    return c.trial;
  };

  it("gives the next slot to the team with the fewest running trials, whoever submitted first", async () => {
    const a = await team();
    const b = await team();
    const sa = await a.submit(20);
    for (let i = 0; i < 4; i++) expect((await claimed()).teamId).toBe(a.id);
    const sb = await b.submit(5);
    // A runs 4, B none: B's trials until B runs as many as A.
    for (let i = 0; i < 4; i++) expect((await claimed()).teamId).toBe(b.id);
    // Then they alternate (a tie goes either way, so look at pairs).
    const next = [(await claimed()).teamId, (await claimed()).teamId].sort();
    expect(next).toEqual([a.id, b.id].sort());
    // Within a team, plan order.
    const aStarted = await db.trial.findMany({ where: { sweepId: sa.id, status: "running" }, orderBy: { startedAt: "asc" }, select: { position: true } });
    expect(aStarted.map((t) => t.position)).toEqual([0, 1, 2, 3, 4]);
    expect(await db.trial.count({ where: { sweepId: sb.id, status: "running" } })).toBe(5);
  });

  it("balances running trials in proportion to the teams' weights", async () => {
    const heavy = await team();
    const light = await team();
    await updateTeamShare(db, heavy.id, { weight: 2 });
    await heavy.submit(30);
    await light.submit(30);
    const started: string[] = [];
    for (let i = 0; i < 12; i++) started.push((await claimed()).teamId);
    expect(started.filter((t) => t === heavy.id)).toHaveLength(8);
    expect(started.filter((t) => t === light.id)).toHaveLength(4);
  });

  it("runs a team's sweeps by priority, then by submission; a priority changed while waiting takes effect", async () => {
    const t = await team();
    const first = await t.submit(2);
    const urgent = await t.submit(2, 5);
    const late = await t.submit(2);
    expect((await setSweepPriority(db, t.id, late.id, 9)).waiting).toBe(2);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push((await claimed()).sweepId);
    expect(order).toEqual([late.id, late.id, urgent.id, urgent.id, first.id, first.id]);
  });

  it("never starts more of a team's trials than its running quota, even with 8 workers claiming at once; other teams go on", async () => {
    const capped = await team();
    const other = await team();
    await updateTeamShare(db, capped.id, { maxRunning: 2 });
    await capped.submit(20);
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => claim(`w${i}`)));
    const got = outcomes.filter((o) => o.kind === "claimed");
    expect(got).toHaveLength(2);
    expect(outcomes.filter((o) => o.kind === "idle").every((o) => o.kind === "idle" && o.owed)).toBe(true);
    expect(await db.trial.count({ where: { teamId: capped.id, status: "running" } })).toBe(2);
    // Another team is not held back by the capped one.
    await other.submit(6);
    const more = await Promise.all(Array.from({ length: 8 }, (_, i) => claim(`v${i}`)));
    expect(more.filter((o) => o.kind === "claimed" && o.trial.teamId === other.id)).toHaveLength(6);
    expect(await db.trial.count({ where: { teamId: capped.id, status: "running" } })).toBe(2);
    // A finished trial frees its slot for exactly one more.
    const first = got[0]!.kind === "claimed" ? got[0]!.trial : null;
    await recordResult(db, first!.trialId, first!.attempt, result);
    const after = await Promise.all(Array.from({ length: 4 }, (_, i) => claim(`u${i}`)));
    expect(after.filter((o) => o.kind === "claimed")).toHaveLength(1);
    expect(await db.trial.count({ where: { teamId: capped.id, status: "running" } })).toBe(2);
  });

  it("claims only trials of the trainers the worker runs", async () => {
    const t = await team();
    const s = await t.submit(2);
    await db.pool.query(`UPDATE trials SET trainer = 'pytorch' WHERE sweep_id = $1`, [s.id]);
    expect(await claim("w", ["tfjs"])).toEqual({ kind: "idle", owed: true });
    expect((await claimed("w", ["tfjs", "pytorch"])).sweepId).toBe(s.id);
  });

  it("takes over a trial whose lease expired before any waiting trial, and ends the lost attempt", async () => {
    const t = await team();
    await t.submit(3);
    const first = await claimNextTrial(db, "dead", { ...opts, leaseMs: 1 });
    if (first.kind !== "claimed") throw new Error("not claimed");
    await new Promise((r) => setTimeout(r, 20));
    const again = await claimed("rescuer");
    expect(again.trialId).toBe(first.trial.trialId);
    expect(again.attempt).toBe(2);
    const attempts = await db.attempt.findMany({ where: { trialId: again.trialId }, orderBy: { number: "asc" } });
    expect(attempts.map((a) => [a.workerId, a.status])).toEqual([["dead", "lost"], ["rescuer", "running"]]);
  });

  it("answers idle, owed or not, and fails trials that are owed but out of attempts", async () => {
    expect(await claim()).toEqual({ kind: "idle", owed: false });
    const t = await team();
    const s = await t.submit(1);
    const a1 = await claimed();
    await releaseAttempt(db, a1.trialId, a1.attempt, "drain");
    const a2 = await claimed();
    await releaseAttempt(db, a2.trialId, a2.attempt, "drain");
    // Handed back on its last attempt: queued, but no worker may claim it.
    expect(await claim()).toEqual({ kind: "idle", owed: true });
    expect(await failExhaustedTrials(db, opts)).toBe(1);
    expect((await db.trial.findFirstOrThrow({ where: { sweepId: s.id } })).status).toBe("failed");
    expect(await claim()).toEqual({ kind: "idle", owed: false });
  });

  it("a claim sent again with its key (its answer lost) gets the attempt the first copy opened, not a second one", async () => {
    const a = await team();
    const sweep = await a.submit(3);
    const first = await claimNextTrial(db, "w-key", { ...opts, claimKey: "key-0001" });
    if (first.kind !== "claimed") throw new Error("nothing claimed");
    const again = await claimNextTrial(db, "w-key", { ...opts, claimKey: "key-0001", repeat: true });
    expect(again).toEqual(first);
    // Sent again unmarked, the same key still answers with its attempt.
    expect(await claimNextTrial(db, "w-key", { ...opts, claimKey: "key-0001" })).toEqual(first);
    const attempts = await db.attempt.findMany({ where: { trial: { sweepId: sweep.id } } });
    expect(attempts.map((x) => [x.trialId, x.number, x.claimKey])).toEqual([[first.trial.trialId, 1, "key-0001"]]);
    // A repeat whose first copy never committed (its key opened nothing) claims as a first copy would.
    const other = await claimNextTrial(db, "w-other", { ...opts, claimKey: "key-0002", repeat: true });
    expect(other.kind === "claimed" && other.trial.trialId).not.toBe(first.trial.trialId);
    // Once the attempt has ended, its key opens nothing new.
    await recordResult(db, first.trial.trialId, 1, result);
    await expect(claimNextTrial(db, "w-key", { ...opts, claimKey: "key-0001" })).rejects.toThrow(/claim key key-0001 was used/);
  });
});
