/** The exactly-once protocol against the real Postgres: leases, fenced writes, retries, sweep completion. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimTrial, createDb, createSweep, createTeam, failAttempt, heartbeat, LeaseLostError, recordEpoch, recordResult, owedTrials,
  bestTrial, type Db,
} from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const epoch = (n: number, auc = 0.5 + n / 100) => ({ epoch: n, trainLoss: 1 / n, valLoss: 1 / n, lr: 1e-3, durationMs: 10, metrics: { auc, f1: 0.4 } });
const result = (score: number) => ({ bestEpoch: 1, metrics: { auc: score }, valAuc: score, valF1: 0.4, valLoss: 0.3, selectionScore: score, tiebreakScore: 0.4 });

describe("lease repository", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamId: string;
  let datasetId: string;
  let versionId: string;
  const opts = { leaseMs: 60_000, maxAttempts: 2 };

  beforeAll(async () => {
    tdb = await createTestDatabase("lease");
    db = createDb(tdb.url);
    teamId = (await createTeam(db, "lease-team")).team.id;
    const ds = await db.dataset.create({ data: { teamId, name: "d" } });
    datasetId = ds.id;
    versionId = (await db.datasetVersion.create({ data: { datasetId, contentHash: "h", storagePath: "/tmp/x", imageCount: 0, summary: {}, manifest: [] } })).id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  async function newSweep(n: number, spec: Record<string, unknown> = { final: false }, architectures = ["small_cnn"]) {
    return createSweep(db, {
      teamId, datasetId, datasetVersionId: versionId, scenarioKey: "ct/binary", task: "binary", scenario: { key: "ct/binary" },
      preset: "p", spec, seed: 1, planHash: "x",
      trials: Array.from({ length: n }, (_, i) => ({ position: i, key: `k${i}`, architecture: architectures[i % architectures.length]!, learningRate: 1e-3, augmentations: [], stage: "search" as const, spec: { epochs: 3 } })),
    });
  }

  it("a second delivery of a held trial is told to wait; a finished trial is done", async () => {
    const s = await newSweep(1);
    const id = s.trials[0].id;
    const a = await claimTrial(db, id, "w1", opts);
    expect(a.kind).toBe("claimed");
    const b = await claimTrial(db, id, "w2", opts);
    expect(b.kind).toBe("held");
    await recordEpoch(db, id, 1, epoch(1), opts.leaseMs);
    await recordResult(db, id, 1, result(0.8));
    expect(await claimTrial(db, id, "w2", opts)).toEqual({ kind: "done", status: "succeeded" });
    expect((await db.sweep.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("succeeded");
  });

  it("after the lease expires, a new attempt takes over and the old attempt's writes are refused", async () => {
    const s = await newSweep(1);
    const id = s.trials[0].id;
    await claimTrial(db, id, "w1", { ...opts, leaseMs: 1 });
    await recordEpoch(db, id, 1, epoch(1), 1).catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
    const second = await claimTrial(db, id, "w2", opts);
    expect(second.kind === "claimed" && second.trial.attempt).toBe(2);
    await expect(recordEpoch(db, id, 1, epoch(2), opts.leaseMs)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(recordResult(db, id, 1, result(0.9))).rejects.toBeInstanceOf(LeaseLostError);
    expect(await heartbeat(db, id, 1, opts.leaseMs)).toBe(false);
    expect(await heartbeat(db, id, 2, opts.leaseMs)).toBe(true);
    await recordEpoch(db, id, 2, epoch(2), opts.leaseMs);
    await recordEpoch(db, id, 2, epoch(2, 0.9), opts.leaseMs); // a redone epoch overwrites, never duplicates
    await recordResult(db, id, 2, result(0.7));
    await expect(recordResult(db, id, 2, result(0.99))).rejects.toBeInstanceOf(LeaseLostError);
    const t = await db.trial.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: "asc" } }, epochs: true } });
    expect(t.selectionScore).toBe(0.7);
    expect(t.attempts.map((a) => a.status)).toEqual(["lost", "succeeded"]);
    expect(t.epochs.filter((e) => e.epoch === 2)).toHaveLength(1);
    expect(t.epochs.find((e) => e.epoch === 2)!.valAuc).toBe(0.9);
  });

  it("the result re-asserts the attempt's epochs durably: an epoch row lost before it is restored", async () => {
    const s = await newSweep(1);
    const id = s.trials[0].id;
    await claimTrial(db, id, "w1", opts);
    for (const n of [1, 2, 3]) await recordEpoch(db, id, 1, epoch(n), opts.leaseMs);
    await db.epoch.deleteMany({ where: { trialId: id, epoch: 2 } }); // as if lost in a Postgres crash before its WAL flush
    await recordResult(db, id, 1, { ...result(0.7), epochs: [1, 2, 3].map((n) => epoch(n)) });
    const rows = await db.epoch.findMany({ where: { trialId: id }, orderBy: { epoch: "asc" } });
    expect(rows.map((e) => [e.epoch, e.valAuc])).toEqual([[1, 0.51], [2, 0.52], [3, 0.53]]);
  });

  it("a failed attempt is retried until maxAttempts, then the trial and its sweep fail", async () => {
    const s = await newSweep(1);
    const id = s.trials[0].id;
    await claimTrial(db, id, "w1", opts);
    expect(await failAttempt(db, id, 1, { reason: "crashed", message: "boom", maxAttempts: 2 })).toEqual({ retry: true });
    expect((await owedTrials(db)).map((t) => t.id)).toContain(id);
    await claimTrial(db, id, "w1", opts);
    expect(await failAttempt(db, id, 2, { reason: "diverged", message: "NaN", maxAttempts: 2 })).toEqual({ retry: false });
    const t = await db.trial.findUniqueOrThrow({ where: { id } });
    expect([t.status, t.errorReason, t.error]).toEqual(["failed", "diverged", "NaN"]);
    expect((await db.sweep.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("failed");
  });

  it("concurrent last trials still end the sweep, and the best query picks the top score", async () => {
    const s = await newSweep(6);
    for (const t of s.trials) await claimTrial(db, t.id, "w", opts);
    await Promise.all(s.trials.map((t, i) => recordResult(db, t.id, 1, result(0.85 + i / 100))));
    expect((await db.sweep.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("succeeded");
    const best = await bestTrial(db, teamId, { dataset: datasetId, scenarioKey: "ct/binary", architecture: "small_cnn" });
    expect(best?.selectionScore).toBeCloseTo(0.9, 12); // above every earlier sweep of this team
  });

  it("a result says when the final stage may be due: among the last 16 search trials of its architecture, in a sweep with a final stage", async () => {
    // 40 trials over two architectures (20 each, alternating): the first 4 results of an architecture leave more than 16 of it owed.
    const s = await newSweep(40, {}, ["small_cnn", "resnet18"]);
    const due: Record<string, boolean[]> = { small_cnn: [], resnet18: [] };
    const arch = new Map((await db.trial.findMany({ where: { sweepId: s.id } })).map((t) => [t.id, t.architecture]));
    for (const t of s.trials) {
      await claimTrial(db, t.id, "w", opts);
      const r = await recordResult(db, t.id, 1, result(0.8));
      expect(r.sweepId).toBe(s.id);
      due[arch.get(t.id)!]!.push(r.finalStageDue);
    }
    const expected = Array.from({ length: 20 }, (_, i) => 20 - 1 - i <= 16);
    expect(due).toEqual({ small_cnn: expected, resnet18: expected });
    // A sweep without a final stage never owes one.
    const off = await newSweep(1);
    await claimTrial(db, off.trials[0].id, "w", opts);
    expect((await recordResult(db, off.trials[0].id, 1, result(0.8))).finalStageDue).toBe(false);
  });
});
