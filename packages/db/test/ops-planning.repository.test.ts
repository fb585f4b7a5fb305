/** The reads the API's readiness, metrics, planning and final-training code make, against the real Postgres. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  claimTrial, createDb, createSweep, createTeam, findPlanningVersion, pingDatabase, recentEpochDurations, recordEpoch, recordResult,
  searchTrials, trialCountsByStatus, type Db,
} from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

describe("operational and planning reads", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamId: string;
  let datasetId: string;
  let oldVersion: string;
  let newVersion: string;
  const opts = { leaseMs: 60_000, maxAttempts: 2 };

  beforeAll(async () => {
    tdb = await createTestDatabase("opsplan");
    db = createDb(tdb.url, { poolSize: 3 });
    teamId = (await createTeam(db, "ops")).team.id;
    datasetId = (await db.dataset.create({ data: { teamId, name: "chest" } })).id;
    const v = (hash: string, at: Date) => db.datasetVersion.create({ data: { datasetId, contentHash: hash, storagePath: `/x/${hash}`, imageCount: 1, summary: {}, manifest: [{ hash }], createdAt: at } });
    oldVersion = (await v("old", new Date("2026-01-01"))).id;
    newVersion = (await v("new", new Date("2026-02-01"))).id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("pings Postgres, and rejects once it cannot reach it", async () => {
    await expect(pingDatabase(db)).resolves.toBeUndefined();
    const dead = createDb("postgresql://root@127.0.0.1:9/nothing", { poolSize: 1 });
    await expect(pingDatabase(dead)).rejects.toThrow();
    await dead.$disconnect();
  });

  it("finds the dataset by id or name and its newest or named version, only within the team", async () => {
    const byName = await findPlanningVersion(db, teamId, "chest");
    expect(byName.dataset).toEqual({ id: datasetId, name: "chest" });
    expect(byName.version?.id).toBe(newVersion);
    expect(byName.version?.manifest).toEqual([{ hash: "new" }]);
    expect((await findPlanningVersion(db, teamId, datasetId, oldVersion)).version?.contentHash).toBe("old");
    expect(await findPlanningVersion(db, teamId, "chest", "00000000-0000-0000-0000-000000000000")).toMatchObject({ dataset: { id: datasetId }, version: null });
    const other = (await createTeam(db, "other")).team.id;
    expect(await findPlanningVersion(db, other, datasetId)).toEqual({ dataset: null, version: null });
    expect(await findPlanningVersion(db, teamId, "missing")).toEqual({ dataset: null, version: null });
  });

  it("counts trials by status, lists a sweep's search trials, and gives recent epoch duration quantiles", async () => {
    const s = await createSweep(db, {
      teamId, datasetId, datasetVersionId: newVersion, scenarioKey: "ct/binary", task: "binary", scenario: {}, preset: "p", spec: {}, seed: 1, planHash: "h",
      trials: [0, 1, 2].map((i) => ({ position: i, key: `k${i}`, architecture: i === 2 ? "resnet18" : "small_cnn", learningRate: 10 ** -(i + 1), augmentations: [], stage: "search" as const, spec: { epochs: 4 } })),
    });
    expect(await recentEpochDurations(db)).toEqual({ p50: null, p95: null });
    const id = s.trials[0]!.id;
    await claimTrial(db, id, "w", opts);
    for (const [n, ms] of [[1, 1000], [2, 2000], [3, 3000], [4, 10_000]] as const) {
      await recordEpoch(db, id, 1, { epoch: n, trainLoss: 1, valLoss: 1, lr: 0.1, durationMs: ms, metrics: { auc: 0.6 } }, opts.leaseMs);
    }
    await recordResult(db, id, 1, { bestEpoch: 3, metrics: { auc: 0.7 }, valAuc: 0.7, valF1: 0.5, valLoss: 0.4, selectionScore: 0.7, tiebreakScore: 0.5 });
    const d = await recentEpochDurations(db);
    expect(d.p50).toBeCloseTo(2.5, 6);
    expect(d.p95).toBeCloseTo(8.95, 6);
    expect(await recentEpochDurations(db, 0)).toEqual({ p50: null, p95: null });

    const counts = Object.fromEntries((await trialCountsByStatus(db)).map((r) => [r.status, r.count]));
    expect(counts).toEqual({ succeeded: 1, queued: 2 });

    const search = await searchTrials(db, s.id);
    expect(search.map((t) => [t.position, t.architecture, t.status, t.valAuc]).sort()).toEqual([
      [0, "small_cnn", "succeeded", 0.7],
      [1, "small_cnn", "queued", null],
      [2, "resnet18", "queued", null],
    ]);
  });
});
