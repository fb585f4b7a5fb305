/**
 * A cross-dataset evaluation through the real TensorFlow.js trainer (wasm, small CNN, tiny images): a final model
 * trained on one synthesised dataset is scored on a second that shares known images with it. The trainer's
 * evaluate mode loads the published weights, normalises with the first dataset's training statistics, and
 * reports the probabilities the stored metrics are recomputed from.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthDataset } from "@hypersweep/data";
import { scoreTest, toSplitScores } from "@hypersweep/metrics";
import { importViaApi } from "../apps/cli/src/commands/datasets.ts";
import { DEFAULT_TRAINER_CMD } from "../apps/worker/src/main.ts";
import { startStack, type Stack } from "./helpers/stack.ts";
import { datasetSharing, evaluationDone, finalModel, versionRows, type Row } from "./helpers/evaluations.ts";

describe("an evaluation through the real trainer", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("evaluations-real");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("scores a final model on a second dataset without the images it saw, and its predictions recompute the metrics", async () => {
    const firstDir = join(s.tmp, "synth-real-first");
    await synthDataset(firstDir, { images: 160, size: 32, seed: 3 });
    const imported = await importViaApi(firstDir, { url: s.url, apiKey: s.team.apiKey, name: "real-first", progress: false });
    await s.startWorker({ HYPERSWEEP_TRAINER_CMD: DEFAULT_TRAINER_CMD.join(" "), HYPERSWEEP_LEASE_MS: "15000", HYPERSWEEP_HEARTBEAT_MS: "2000" });
    const model = await finalModel(s, "real-first", { modality: "ct", task: "binary" }, { learningRates: [1e-2], batchSize: 16 });

    const first = await versionRows(s, imported.version.id);
    const ctFull = (r: Row) => r.modality === "ct" && r.lungPresence === "full";
    // 2 images it trained on, 1 it validated on (removed), and 2 COVID-19 and 2 other images of its own test set (scored).
    const shared = [
      ...first.filter((r) => r.split === "train" && ctFull(r)).slice(0, 2),
      ...first.filter((r) => r.split === "valid" && ctFull(r)).slice(0, 1),
      ...first.filter((r) => r.split === "test" && ctFull(r) && r.diagnosis === "covid19").slice(0, 2),
      ...first.filter((r) => r.split === "test" && ctFull(r) && r.diagnosis !== "covid19").slice(0, 2),
    ];
    expect(shared).toHaveLength(7);
    const second = await datasetSharing(s, "real-second", firstDir, shared, { images: 100, seed: 8 });

    const res = await s.http("POST", "/v1/evaluations", { trial: model.finalId, datasetVersion: second.versionId });
    expect(res.body.message ?? "").toBe("");
    expect(res.status).toBe(201);
    expect(Math.min(res.body.selection.available.other, res.body.selection.available.covid19), JSON.stringify(res.body.selection)).toBeGreaterThan(0);
    expect(res.body.selection.removed).toEqual({ training: 2, validation: 1, total: 3 });
    const done = await evaluationDone(s, res.body.id, 180_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    expect(done.backend).toMatch(/^wasm/);

    const p = (await s.http("GET", `/v1/evaluations/${res.body.id}/predictions`)).body;
    const target = (await versionRows(s, second.versionId)).filter((r) => r.split === "test" && ctFull(r));
    const seen = new Set(shared.filter((r) => r.split !== "test").map((r) => r.sha256));
    expect(p.images).toEqual(target.map((r) => r.sha256).filter((h) => !seen.has(h)));
    expect(p.labels).toEqual(target.filter((r) => !seen.has(r.sha256)).map((r) => (r.diagnosis === "covid19" ? 1 : 0)));
    for (const row of p.probs) expect(row[0] + row[1]).toBeCloseTo(1, 5);
    const again = scoreTest(toSplitScores(p), { task: "binary", classes: p.classes, positiveClass: "covid19" }, done.result.intervals.accuracy.seed);
    expect(done.result.metrics).toEqual(again.metrics);
    expect(done.result.confusionMatrix).toEqual(again.confusionMatrix);
  }, 400_000);
});
