/** A sweep's ETA prices each architecture's remaining epochs at that architecture's own measured speed. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimTrial, createDb, createSweep, createTeam, getSweep, recordEpoch, recordResult, type Db } from "../src/index.ts";
import { estimateEta } from "../src/eta.repository.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const opts = { leaseMs: 60_000, maxAttempts: 2 };
const epoch = (n: number, durationMs: number) => ({ epoch: n, trainLoss: 1, valLoss: 1, lr: 0.01, durationMs, metrics: { auc: 0.6 } });

describe("sweep ETA", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamId: string;
  beforeAll(async () => {
    tdb = await createTestDatabase("eta");
    db = createDb(tdb.url, { poolSize: 3 });
    teamId = (await createTeam(db, "eta")).team.id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("a slow architecture's remaining trials are priced at its own epoch time, not the fast one's", async () => {
    const datasetId = (await db.dataset.create({ data: { teamId, name: "d" } })).id;
    const versionId = (await db.datasetVersion.create({ data: { datasetId, contentHash: "h", storagePath: "/x", imageCount: 0, summary: {}, manifest: [] } })).id;
    const archs = ["small_cnn", "small_cnn", "resnet18", "resnet18"];
    const s = await createSweep(db, {
      teamId, datasetId, datasetVersionId: versionId, scenarioKey: "ct/binary", task: "binary", scenario: {}, preset: "p", spec: {}, seed: 1, planHash: "h",
      trials: archs.map((architecture, i) => ({ position: i, key: `k${i}`, architecture, learningRate: 0.01, augmentations: [], stage: "search" as const, spec: { epochs: 4 } })),
    });
    const [fast1, , slow1, slow2] = s.trials.map((t) => t.id);

    // The fast architecture finishes a trial: 4 epochs of 100 ms after a 500 ms warm-up epoch (median 100 ms).
    await claimTrial(db, fast1!, "w", opts);
    for (const [n, ms] of [[1, 500], [2, 100], [3, 100], [4, 100]]) await recordEpoch(db, fast1!, 1, epoch(n!, ms!), opts.leaseMs);
    await recordResult(db, fast1!, 1, { bestEpoch: 4, metrics: { auc: 0.6 }, valAuc: 0.6, valF1: 0.5, valLoss: 1, selectionScore: 0.6, tiebreakScore: 0.5 });
    // The slow architecture has not run an epoch yet: its price is unknown, so is the ETA.
    await claimTrial(db, slow1!, "w", opts);
    expect((await getSweep(db, teamId, s.id)).etaSeconds).toBeNull();

    // Two of its epochs take 1 s each. Left: 4 fast epochs at 0.1 s + (2 + 4) slow epochs at 1 s, one trial at once.
    for (const n of [1, 2]) await recordEpoch(db, slow1!, 1, epoch(n, 1000), opts.leaseMs);
    expect((await getSweep(db, teamId, s.id)).etaSeconds).toBe(Math.round(4 * 0.1 + 6 * 1));

    // Two trials running at once halve it.
    await claimTrial(db, slow2!, "w", opts);
    expect((await getSweep(db, teamId, s.id)).etaSeconds).toBe(Math.round((4 * 0.1 + 6 * 1) / 2));
  });

  it("is 0 with nothing owed and ignores architectures that owe nothing", () => {
    expect(estimateEta([], 1)).toBe(0);
    expect(estimateEta([{ architecture: "a", epochsLeft: 0, msPerEpoch: null }, { architecture: "b", epochsLeft: 10, msPerEpoch: 2000 }], 4)).toBe(5);
  });
});
