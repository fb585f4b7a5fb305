/** Kept predictions against the real Postgres: fenced by the lease, overwritten by a retry, served once succeeded. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimTrial, createDb, createSweep, createTeam, LeaseLostError, recordPredictions, recordResult, trialPredictions, type Db, type SplitPredictionRows,
} from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const h = (i: number) => i.toString(16).padStart(64, "0");
const result = { bestEpoch: 1, metrics: { auc: 0.8 }, valAuc: 0.8, valF1: 0.4, valLoss: 0.3, selectionScore: 0.8, tiebreakScore: 0.4 };
const split = (s: "val" | "test", p: number): SplitPredictionRows => ({
  split: s, images: [h(1), h(0xabc), h(3)], labels: [0, 2, 1], probs: [[p, 1 - p, 0], [0.1, 0.2, 0.7], [0.33333334, 0.33333334, 0.3333333]],
});

describe("predictions repository", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamId: string;
  let otherTeam: string;
  let trialId: string;
  const opts = { leaseMs: 60_000, maxAttempts: 3 };

  beforeAll(async () => {
    tdb = await createTestDatabase("predictions");
    db = createDb(tdb.url);
    teamId = (await createTeam(db, "pred-team")).team.id;
    otherTeam = (await createTeam(db, "pred-other")).team.id;
    const ds = await db.dataset.create({ data: { teamId, name: "d" } });
    const version = await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "h", storagePath: "/tmp/x", imageCount: 0, summary: {}, manifest: [] } });
    const sweep = await createSweep(db, {
      teamId, datasetId: ds.id, datasetVersionId: version.id, scenarioKey: "ct/multiclass", task: "multiclass",
      scenario: { key: "ct/multiclass", classes: ["normal", "covid19", "pneumonia"], positiveClass: "covid19" },
      preset: "p", spec: {}, seed: 1, planHash: "x",
      trials: [{ position: 0, key: "k0", architecture: "small_cnn", learningRate: 1e-3, augmentations: [], stage: "final" as const, spec: { epochs: 3, seed: 77 } }],
    });
    trialId = sweep.trials[0].id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("keeps the values exactly (float32), fences a lost attempt, lets the retry overwrite, and serves only the succeeded attempt's rows", async () => {
    await claimTrial(db, trialId, "w1", { ...opts, leaseMs: 1 });
    await recordPredictions(db, trialId, 1, [split("val", 0.25), split("test", 0.5)]);
    // Not served while the trial has no result.
    expect((await trialPredictions(db, teamId, trialId))!.splits).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    const second = await claimTrial(db, trialId, "w2", opts);
    expect(second.kind === "claimed" && second.trial.attempt).toBe(2);
    await expect(recordPredictions(db, trialId, 1, [split("test", 0.9)])).rejects.toBeInstanceOf(LeaseLostError);
    await recordPredictions(db, trialId, 2, [split("val", 0.125), split("test", 0.75)]);
    await recordPredictions(db, trialId, 2, [split("test", 0.625)]); // written again: overwritten, never twice
    await recordResult(db, trialId, 2, result);
    const stored = await trialPredictions(db, teamId, trialId);
    expect(stored!.trial).toMatchObject({ stage: "final", status: "succeeded", task: "multiclass", classes: ["normal", "covid19", "pneumonia"], positiveClass: "covid19", seed: 77 });
    const bySplit = Object.fromEntries(stored!.splits.map((s) => [s.split, s]));
    expect(Object.keys(bySplit).sort()).toEqual(["test", "val"]);
    const { split: _s, ...testRows } = split("test", 0.625);
    const f32 = (rows: readonly (readonly number[])[]) => rows.map((r) => r.map(Math.fround));
    expect({ ...bySplit.test, probs: f32(bySplit.test!.probs) }).toEqual({ split: "test", attempt: 2, ...testRows, probs: f32(testRows.probs) });
    expect(bySplit.test!.probs[2]).toEqual([0.33333334, 0.33333334, 0.3333333]); // read back as the shortest float32 decimals
    expect(bySplit.val!.probs[0]).toEqual([0.125, 0.875, 0]);
    const { rows } = await db.pool.query("SELECT split, attempt FROM trial_predictions WHERE trial_id = $1 ORDER BY split", [trialId]);
    expect(rows).toEqual([{ split: "test", attempt: 2 }, { split: "val", attempt: 2 }]);
  });

  it("answers null for another team's trial, and the database refuses rows whose shapes disagree", async () => {
    expect(await trialPredictions(db, otherTeam, trialId)).toBeNull();
    await expect(db.pool.query(
      `INSERT INTO trial_predictions (trial_id, split, attempt, classes, images, labels, probs) VALUES ($1, 'val', 9, 2, '\\x00', '{0}', '{0.5,0.5}')`, [trialId],
    )).rejects.toThrow(/trial_predictions_shape_check/);
  });
});
