/**
 * Predictions kept and served, end to end with the real trainer: a multiclass sweep and its final training; the
 * worker scores the trainer's probabilities (one scorer) and keeps the final model's; the API serves them (JSON,
 * CSV), their curves and confusion matrices; every metric stored for the final model is recomputed here from
 * the stored predictions with @hypersweep/metrics and must be equal.
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthDataset, type VersionManifest } from "@hypersweep/data";
import { binaryCurves, scoreSplit, scoreTest, toSplitScores } from "@hypersweep/metrics";
import { importViaApi } from "../apps/cli/src/commands/datasets.ts";
import { DEFAULT_TRAINER_CMD } from "../apps/worker/src/main.ts";
import { eventually, startStack, type Stack } from "./helpers/stack.ts";

describe("kept predictions, curves and confusion matrices", () => {
  let s: Stack;
  let finalId: string;
  let manifest: VersionManifest;
  beforeAll(async () => {
    s = await startStack("predictions");
    const src = join(s.tmp, "synth-pred");
    await synthDataset(src, { images: 160, size: 24, seed: 8 });
    const imported = await importViaApi(src, { url: s.url, apiKey: s.team.apiKey, name: "pred-stock", progress: false });
    const version = await s.db.datasetVersion.findUniqueOrThrow({ where: { id: imported.version.id } });
    manifest = JSON.parse(readFileSync(join(version.storagePath, "manifest.json"), "utf8")) as VersionManifest;
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1", HYPERSWEEP_TRAINER_CMD: DEFAULT_TRAINER_CMD.join(" "), HYPERSWEEP_LEASE_MS: "15000", HYPERSWEEP_HEARTBEAT_MS: "2000" });
    const sweep = await s.http("POST", "/v1/sweeps", {
      dataset: "pred-stock", scenario: { modality: "ct", task: "multiclass" }, architectures: ["small_cnn"], seed: 4,
      overrides: { learningRates: [1e-2], subsetsPerRate: 1, searchEpochs: 2, finalEpochs: 3, patience: 2, imageSize: 16, batchSize: 16 },
    });
    expect(sweep.status).toBe(201);
    const sweepId = sweep.body.id as string;
    const final = await eventually(async () => {
      const f = await s.http("POST", `/v1/sweeps/${sweepId}/final`, {});
      if (f.status === 409) return null; // the search is still running
      expect([200, 201]).toContain(f.status);
      return f.body.trials[0].id as string;
    }, 240_000, 1000);
    finalId = final;
    await eventually(async () => {
      const t = await s.http("GET", `/v1/trials/${finalId}`);
      if (t.body.status === "failed") throw new Error(`final training failed: ${t.body.error}`);
      return t.body.status === "succeeded";
    }, 240_000, 1000);
  }, 600_000);
  afterAll(async () => {
    await s?.close();
  });

  it("keeps the final model's val and test probabilities, named by the images' content hashes", async () => {
    const { status, body } = await s.http("GET", `/v1/trials/${finalId}/predictions`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ trialId: finalId, stage: "final", task: "multiclass", positiveClass: "covid19" });
    expect(body.splits.map((x: { split: string }) => x.split).sort()).toEqual(["test", "val"]);
    const inScenario = new Set(manifest.rows.filter((r) => r.modality === "ct").map((r) => `${r.split}:${r.sha256}:${r.diagnosis}`));
    for (const split of body.splits) {
      expect(split.n).toBeGreaterThan(5);
      expect(split.images).toHaveLength(split.n);
      split.images.forEach((h: string, i: number) => {
        const cls = body.classes[split.labels[i]];
        const manifestSplit = split.split === "val" ? "valid" : "test";
        // Every hash is an image of that split in the version's manifest, with the label of its diagnosis.
        expect([...inScenario].some((k) => k.startsWith(`${manifestSplit}:${h}:`) && (cls === "covid19" ? k.endsWith(":covid19") : true))).toBe(true);
      });
      for (const row of split.probs) expect(row.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it("every metric stored for the final model is recomputed from its stored predictions, and equal", async () => {
    const [trial, preds] = await Promise.all([s.http("GET", `/v1/trials/${finalId}`), s.http("GET", `/v1/trials/${finalId}/predictions`)]);
    const ctx = { task: "multiclass" as const, classes: preds.body.classes, positiveClass: "covid19" };
    const bySplit = Object.fromEntries(preds.body.splits.map((x: { split: string }) => [x.split, x]));
    const { test, valLoss, ...val } = trial.body.metrics;
    expect(typeof valLoss).toBe("number");
    expect(val).toEqual(scoreSplit(toSplitScores(bySplit.val), ctx).metrics);
    expect(Object.keys(val).sort()).toEqual(["accuracy", "auc", "f1", "macroAuc", "macroF1", "precision", "recall"]);
    const recomputed = scoreTest(toSplitScores(bySplit.test), ctx, trial.body.spec.seed);
    expect(test).toEqual(JSON.parse(JSON.stringify(recomputed)));
    expect(test.intervals.accuracy.lower).toBeLessThanOrEqual(test.metrics.accuracy);
    expect(test.intervals.accuracy.upper).toBeGreaterThanOrEqual(test.metrics.accuracy);
    // The trial's selection columns come from the same scores.
    expect(trial.body.valF1).toBe(val.f1);
    // Stored epochs look as before: their metrics, and the best epoch's are the result's.
    const best = trial.body.epochs.find((e: { epoch: number }) => e.epoch === trial.body.bestEpoch);
    expect(best.metrics).toEqual(val);
  });

  it("serves ROC and PR curves per class and the confusion matrix, consistent with the stored metrics", async () => {
    const [trial, curves, confusion] = await Promise.all([
      s.http("GET", `/v1/trials/${finalId}`), s.http("GET", `/v1/trials/${finalId}/curves?split=test`), s.http("GET", `/v1/trials/${finalId}/confusion?split=test`),
    ]);
    expect(curves.status).toBe(200);
    const [t] = curves.body.splits;
    expect(t.split).toBe("test");
    expect(t.curves.map((c: { class: string }) => c.class)).toEqual(curves.body.classes);
    expect(t.confusionMatrix).toEqual(trial.body.metrics.test.confusionMatrix);
    expect(confusion.body.splits).toEqual([{ split: "test", n: t.n, matrix: t.confusionMatrix }]);
    const covid = t.curves.find((c: { class: string }) => c.class === "covid19");
    expect(covid.auc).toBeCloseTo(trial.body.metrics.test.metrics.auc, 12); // area under the served ROC = the binary AUC
    const defined = t.curves.filter((c: { auc?: number }) => c.auc !== undefined);
    if (defined.length === curves.body.classes.length) {
      const macro = defined.reduce((a: number, c: { auc: number }) => a + c.auc, 0) / defined.length;
      expect(macro).toBeCloseTo(trial.body.metrics.test.metrics.macroAuc, 12);
    }
    for (const c of defined) {
      expect(c.roc[0]).toEqual({ threshold: null, fpr: 0, tpr: 0 });
      expect(c.roc.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
      expect(c.pr.at(-1).recall).toBe(1);
    }
    expect(binaryCurves([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.4]).auc).toBeCloseTo(0.875, 12);
  });

  it("serves the predictions as CSV (by ?format=csv or Accept: text/csv), one row per image", async () => {
    const json = await s.http("GET", `/v1/trials/${finalId}/predictions?split=test`);
    for (const ask of [{ q: "?split=test&format=csv", h: {} as Record<string, string> }, { q: "?split=test", h: { accept: "text/csv" } as Record<string, string> }]) {
      const res = await fetch(`${s.url}/v1/trials/${finalId}/predictions${ask.q}`, { headers: { authorization: `Bearer ${s.team.apiKey}`, ...ask.h } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
      const lines = (await res.text()).trim().split("\n");
      expect(lines[0]).toBe(`split,image_sha256,label,class,predicted,predicted_class,${json.body.classes.map((c: string) => `p_${c}`).join(",")}`);
      const [test] = json.body.splits;
      expect(lines).toHaveLength(test.n + 1);
      const cells = lines[1]!.split(",");
      expect(cells.slice(0, 4)).toEqual(["test", test.images[0], String(test.labels[0]), json.body.classes[test.labels[0]]]);
      expect(cells.slice(6).map(Number)).toEqual(test.probs[0]);
    }
  });

  it("answers 404 for another team's trial and for a malformed id, and 400 naming a bad split", async () => {
    const other = await s.newTeam("pred-other");
    for (const path of ["predictions", "curves", "confusion"]) {
      const r = await s.http("GET", `/v1/trials/${finalId}/${path}`, undefined, other.apiKey);
      expect(r.status).toBe(404);
      expect((await s.http("GET", `/v1/trials/not-a-uuid/${path}`)).status).toBe(404);
    }
    const bad = await s.http("GET", `/v1/trials/${finalId}/predictions?split=train`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/split/);
  });
});
