/** A sweep's ETA prices each architecture's remaining epochs at that architecture's own measured speed. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFinalTrials, claimTrial, createDb, createSweep, createTeam, getSweep, recordEpoch, recordResult, type Db } from "../src/index.ts";
import { estimateEta, expectedFinalEpochsLeft, expectedSearchEpochsLeft } from "../src/eta.repository.ts";
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

  it("expects epochs as early stopping will end them: ASHA rungs (1/eta go on) and final trainings (the winner's best epoch + patience)", async () => {
    const datasetId = (await db.dataset.create({ data: { teamId, name: "d2" } })).id;
    const versionId = (await db.datasetVersion.create({ data: { datasetId, contentHash: "h2", storagePath: "/x", imageCount: 0, summary: {}, manifest: [] } })).id;
    const halving = { rungs: [1, 3], eta: 3 };
    const searchA = { epochs: 9, halving };
    const s = await createSweep(db, {
      teamId, datasetId, datasetVersionId: versionId, scenarioKey: "ct/binary", task: "binary", scenario: {}, preset: "p", seed: 1, planHash: "h",
      spec: { final: true, searchEpochs: 9, finalEpochs: 30, patience: 5, earlyStopping: halving },
      trials: [
        ...[0, 1, 2, 3].map((i) => ({ position: i, key: `a${i}`, architecture: "small_cnn", learningRate: 0.01, augmentations: [], stage: "search" as const, spec: searchA })),
        { position: 4, key: "b0", architecture: "resnet18", learningRate: 0.01, augmentations: [], stage: "search" as const, spec: { epochs: 9 } },
      ],
    });
    const [a1, a2, , , b1] = s.trials.map((t) => t.id);
    const result = (bestEpoch: number) => ({ bestEpoch, metrics: { auc: 0.7 }, valAuc: 0.7, valF1: 0.5, valLoss: 1, selectionScore: 0.7, tiebreakScore: 0.5 });

    // small_cnn (1 s an epoch): a1 ran its 9 epochs and was best at epoch 4; a2 is running and has passed rung 1.
    await claimTrial(db, a1!, "w", opts);
    for (let n = 1; n <= 9; n++) await recordEpoch(db, a1!, 1, epoch(n, 1000), opts.leaseMs);
    await recordResult(db, a1!, 1, result(4));
    await claimTrial(db, a2!, "w", opts);
    for (const n of [1, 2]) await recordEpoch(db, a2!, 1, epoch(n, 1000), opts.leaseMs);
    // resnet18 (2 s an epoch): its search is over, best at epoch 6; its final training has done 4 epochs.
    await claimTrial(db, b1!, "w", opts);
    for (let n = 1; n <= 9; n++) await recordEpoch(db, b1!, 1, epoch(n, 2000), opts.leaseMs);
    await recordResult(db, b1!, 1, result(6));
    const [final] = await addFinalTrials(db, teamId, s.id, [{ fromTrialId: b1!, spec: { epochs: 30, earlyStopping: { patience: 5, minDelta: 0 } } }]);
    await claimTrial(db, final!.id, "w", opts);
    for (let n = 1; n <= 4; n++) await recordEpoch(db, final!.id, 1, epoch(n, 2000), opts.leaseMs);

    // By hand. small_cnn: a2 (done 2, rung 3 ahead): 1 + (9 - 3)/3 = 3; a3 and a4 (queued): 1 + (3 - 1)/3 + (9 - 3)/9
    // = 7/3 each; its final training, not queued yet: the leader a1's best epoch 4 + patience 5 = 9 (of 30).
    // 3 + 14/3 + 9 = 16.67 epochs at 1 s. resnet18's final: min(30, 6 + 5) - 4 = 7 epochs at 2 s = 14 s.
    // Two trials run at once: (16.67 + 14) / 2 = 15.33 s. (Planned epochs would say ((7 + 9 + 9 + 30) + 26 * 2) / 2 = 53.5 s.)
    expect((await getSweep(db, teamId, s.id)).etaSeconds).toBe(15);

    // The final training goes on improving past epoch 11: it may still need up to patience (5) epochs, not 30 - 12.
    for (let n = 5; n <= 12; n++) await recordEpoch(db, final!.id, 1, epoch(n, 2000), opts.leaseMs);
    expect((await getSweep(db, teamId, s.id)).etaSeconds).toBe(Math.round((16 + 2 / 3 + 5 * 2) / 2));
  });

  it("the expectations, by hand", () => {
    const halving = { rungs: [3, 9, 27], eta: 3 };
    // The paper's 30 epochs with rungs 3, 9, 27 and eta 3: 3 + 6/3 + 18/9 + 3/27 epochs per trial from the start.
    expect(expectedSearchEpochsLeft(0, 30, halving)).toBeCloseTo(3 + 2 + 2 + 1 / 9, 12);
    expect(expectedSearchEpochsLeft(10, 30, halving)).toBeCloseTo(17 + 3 / 3, 12);
    expect(expectedSearchEpochsLeft(5, 30, null)).toBe(25);
    expect(expectedFinalEpochsLeft(0, 100, 10, 12)).toBe(22);
    expect(expectedFinalEpochsLeft(0, 15, 10, 12)).toBe(15);
    expect(expectedFinalEpochsLeft(25, 100, 10, 12)).toBe(10);
    expect(expectedFinalEpochsLeft(3, 100, null, 12)).toBe(97);
  });
});
