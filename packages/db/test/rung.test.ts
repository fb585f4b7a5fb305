/**
 * Early-stopping decisions against the real Postgres: trials reaching a rung at the same moment are ranked one
 * after the other, each seeing those before it; a replayed rung epoch gets its stored decision back; a stopped
 * trial is finished at once (a new delivery finds it done) and can still win its architecture.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planFinalTrainings, type SweepSpec } from "@hypersweep/core";
import {
  claimTrial, createDb, createSweep, createTeam, failAttempt, LeaseLostError, recordEpoch, recordRungEpoch, searchTrials, type Db, type EpochRecord,
} from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const epoch = (n: number, auc: number): EpochRecord => ({ epoch: n, trainLoss: 1 - auc, valLoss: 1 - auc, lr: 1e-3, durationMs: 10, metrics: { auc, f1: auc / 2 } });
const opts = { leaseMs: 60_000, maxAttempts: 1 };

describe("rung decisions (ASHA)", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamId: string;
  let datasetId: string;
  let versionId: string;

  beforeAll(async () => {
    tdb = await createTestDatabase("rungs");
    db = createDb(tdb.url, { poolSize: 12 });
    teamId = (await createTeam(db, "rung-team")).team.id;
    const ds = await db.dataset.create({ data: { teamId, name: "d" } });
    datasetId = ds.id;
    versionId = (await db.datasetVersion.create({ data: { datasetId, contentHash: "h", storagePath: "/tmp/x", imageCount: 0, summary: {}, manifest: [] } })).id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  async function claimedSweep(n: number, earlyStopping: { rungs: number[]; eta: number }, architectures = ["small_cnn"]) {
    const spec = { final: false, selectionMetric: "auc", minDelta: 0, earlyStopping, architectures };
    const s = await createSweep(db, {
      teamId, datasetId, datasetVersionId: versionId, scenarioKey: "ct/binary", task: "binary", scenario: { key: "ct/binary" },
      preset: "p", spec, seed: 1, planHash: "x",
      trials: Array.from({ length: n }, (_, i) => ({
        position: i, key: `k${i}`, architecture: architectures[i % architectures.length]!, learningRate: 1e-3, augmentations: [], stage: "search" as const,
        spec: { epochs: 5, halving: earlyStopping },
      })),
    });
    for (const t of s.trials) expect((await claimTrial(db, t.id, "w1", opts)).kind).toBe("claimed");
    return s;
  }

  it("ranks trials reaching a rung at once one after the other: each sees all those before it", async () => {
    const eta = 3;
    const s = await claimedSweep(12, { rungs: [1, 3], eta });
    const aucs = s.trials.map((_, i) => 0.5 + ((i * 7) % 12) / 30);
    const outcomes = await Promise.all(s.trials.map((t, i) => recordRungEpoch(db, t.id, 1, epoch(1, aucs[i]!), [], opts.leaseMs)));

    const decisions = await db.rungDecision.findMany({ where: { sweepId: s.id, rung: 1 }, orderBy: { reached: "asc" } });
    // Serialised: the 12 decisions saw 0, 1, ..., 11 trials before them (without the lock, some would see the same count).
    expect(decisions.map((d) => d.reached)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // Replaying the arrivals in that order with the rule written out gives the same decisions.
    const seen: number[] = [];
    for (const d of decisions) {
      const v = aucs[s.trials.findIndex((t) => t.id === d.trialId)]!;
      const rank = 1 + seen.filter((x) => x > v).length;
      seen.push(v);
      const n = seen.length;
      expect({ rank: d.rank, continues: d.continues, score: d.selectionScore }).toEqual({ rank, continues: n < eta || rank <= Math.floor(n / eta), score: v });
    }
    expect(outcomes.filter((o) => o && !o.continues).length).toBe(decisions.filter((d) => !d.continues).length);
    expect(decisions.some((d) => !d.continues) && decisions.some((d) => d.continues)).toBe(true);

    // A stopped trial is finished in the same transaction: its best epoch is its result, its lease is gone.
    for (const d of decisions) {
      const t = await db.trial.findUniqueOrThrow({ where: { id: d.trialId }, include: { attempts: true } });
      if (d.continues) expect([t.status, t.stoppedEarlyAt]).toEqual(["running", null]);
      else {
        expect(t).toMatchObject({ status: "succeeded", stoppedEarlyAt: 1, bestEpoch: 1, valAuc: d.selectionScore, selectionScore: d.selectionScore, leaseOwner: null });
        expect(t.attempts.map((a) => a.status)).toEqual(["succeeded"]);
        // A new delivery finds it done; its old attempt can write nothing more.
        expect(await claimTrial(db, t.id, "w2", opts)).toEqual({ kind: "done", status: "succeeded" });
        await expect(recordEpoch(db, t.id, 1, epoch(2, 0.99), opts.leaseMs)).rejects.toBeInstanceOf(LeaseLostError);
      }
    }
  });

  it("a replayed rung epoch gets its stored decision back and decides nothing anew; an epoch off the rungs decides nothing", async () => {
    const s = await claimedSweep(4, { rungs: [2], eta: 2 });
    const [a, b, c] = s.trials.map((t) => t.id) as [string, string, string];
    await recordEpoch(db, a, 1, epoch(1, 0.6), opts.leaseMs);
    expect(await recordRungEpoch(db, a, 1, epoch(1, 0.6), [], opts.leaseMs)).toBeNull(); // epoch 1 is no rung
    const first = await recordRungEpoch(db, a, 1, epoch(2, 0.7), [epoch(1, 0.6)], opts.leaseMs);
    expect(first).toMatchObject({ rung: 2, continues: true, rank: 1, reached: 1, bestEpoch: 2, replayed: false });
    const before = await db.rungDecision.findUniqueOrThrow({ where: { trialId_rung: { trialId: a, rung: 2 } } });
    // Replayed with other values (as a resumed, non-deterministic trainer might): the first decision stands.
    const again = await recordRungEpoch(db, a, 1, epoch(2, 0.1), [epoch(1, 0.6)], opts.leaseMs);
    expect(again).toMatchObject({ rung: 2, continues: true, rank: 1, reached: 1, replayed: true });
    expect(await db.rungDecision.findUniqueOrThrow({ where: { trialId_rung: { trialId: a, rung: 2 } } })).toEqual(before);
    expect(await db.rungDecision.count({ where: { sweepId: s.id } })).toBe(1);
    // The standing reads every stored epoch up to the rung, those the attempt had in hand included.
    const bc = await recordRungEpoch(db, b, 1, epoch(2, 0.65), [epoch(1, 0.95)], opts.leaseMs);
    expect(bc).toMatchObject({ continues: true, rank: 1, reached: 2, kept: 1, bestEpoch: 1, selectionScore: 0.95 });
    expect(await recordRungEpoch(db, c, 1, epoch(2, 0.8), [epoch(1, 0.5)], opts.leaseMs)).toMatchObject({ continues: false, rank: 2, reached: 3, kept: 1 });
  });

  it("a stopped trial can still win its architecture when nothing beats it", async () => {
    const s = await claimedSweep(2, { rungs: [1], eta: 2 });
    const [x, y] = s.trials.map((t) => t.id) as [string, string];
    expect(await recordRungEpoch(db, x, 1, epoch(1, 0.9), [], opts.leaseMs)).toMatchObject({ continues: true });
    expect(await recordRungEpoch(db, y, 1, epoch(1, 0.8), [], opts.leaseMs)).toMatchObject({ continues: false });
    // The trial that went on fails for good: the stopped one is the best succeeded search trial.
    await failAttempt(db, x, 1, { reason: "crashed", message: "boom", maxAttempts: 1 });
    const spec = { architectures: ["small_cnn"], selectionMetric: "auc", finalEpochs: 5, patience: 2, minDelta: 0 } as unknown as SweepSpec;
    const plan = planFinalTrainings(spec, "binary", await searchTrials(db, s.id));
    expect(plan.requests.map((r) => r.fromTrialId)).toEqual([y]);
    expect((await db.sweep.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("succeeded");
  });

  it("ranks each architecture apart", async () => {
    const s = await claimedSweep(4, { rungs: [1], eta: 2 }, ["small_cnn", "resnet18"]);
    const out = await Promise.all(s.trials.map((t, i) => recordRungEpoch(db, t.id, 1, epoch(1, 0.9 - i / 10), [], opts.leaseMs)));
    // Positions 0 and 2 are small_cnn, 1 and 3 resnet18: each architecture saw two trials, not four.
    expect(out.map((o) => o!.reached).sort()).toEqual([1, 1, 2, 2]);
  });
});
