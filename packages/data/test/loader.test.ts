import { join } from "node:path";
import type { Batch, TrainerData } from "@hypersweep/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importDataset, openTrialData, resolveScenario, synthDataset, type ImportResult, type OpenedTrialData } from "../src/index.ts";
import { listDir, tempDir } from "./helpers.ts";

const S = 16;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let version: ImportResult;
let td: OpenedTrialData;

function trainerData(modality: "ct" | "radiograph", task: "binary" | "multiclass"): TrainerData {
  // As the API would: resolve the scenario at sweep creation and pass its classes on.
  const sc = resolveScenario(version.rows, { modality, task });
  return {
    datasetVersionId: "v1",
    datasetDir: version.storagePath,
    cacheDir: join(tmp.path, "cache"),
    scenario: { key: sc.key, modality, task, classes: sc.classes, positiveClass: "covid19", filters: {}, minPerClass: 0 },
  };
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  // Batches are only valid until the next one is requested: keep copies.
  for await (const b of it) out.push({ x: b.x.slice(), y: b.y.slice(), size: b.size });
  return out;
}

/** A fingerprint of each image in a batch (sum of its values), to follow images across orders. */
const fingerprints = (bs: Batch[]) => bs.flatMap((b) => Array.from({ length: b.size }, (_, i) => b.x.subarray(i * S * S * 3, (i + 1) * S * S * 3).reduce((s, v) => s + v, 0)));

beforeAll(async () => {
  tmp = await tempDir("loader");
  await synthDataset(join(tmp.path, "src"), { images: 160, size: 32, seed: 8 });
  version = await importDataset(join(tmp.path, "src"), { dataRoot: join(tmp.path, "data") });
  td = await openTrialData(trainerData("ct", "multiclass"), S);
});
afterAll(async () => {
  await td?.close();
  await tmp?.cleanup();
});

describe("openTrialData (synth → import → cache → batches)", () => {
  it("serves the scenario's rows: NHWC float batches, labels in the scenario's class order, a partial last batch", async () => {
    expect(td.classes).toEqual(td.scenario.classes);
    const total = td.counts.train + td.counts.valid + td.counts.test;
    expect(total).toBe(version.rows.filter((r) => r.modality === "ct" && r.lungPresence === "full" && td.classes.includes(r.diagnosis)).length);
    const bs = await collect(td.trainBatches(1, 8, 42));
    expect(bs.reduce((s, b) => s + b.size, 0)).toBe(td.counts.train);
    expect(bs.slice(0, -1).every((b) => b.size === 8 && b.x.length === 8 * S * S * 3 && b.y.length === 8)).toBe(true);
    const last = bs[bs.length - 1]!;
    expect(last.size).toBe(td.counts.train % 8 || 8);
    expect(last.x.length).toBe(last.size * S * S * 3);
    const labels = bs.flatMap((b) => [...b.y]);
    for (const [k, c] of td.classes.entries()) expect(labels.filter((l) => l === k).length).toBe(td.scenario.counts.train[c]);
  });

  it("shuffles reproducibly per (seed, epoch), and every epoch is a permutation of the training set", async () => {
    const a = fingerprints(await collect(td.trainBatches(1, 16, 7)));
    const again = fingerprints(await collect(td.trainBatches(1, 16, 7)));
    const epoch2 = fingerprints(await collect(td.trainBatches(2, 16, 7)));
    const seed2 = fingerprints(await collect(td.trainBatches(1, 16, 8)));
    expect(again).toEqual(a);
    expect(epoch2).not.toEqual(a);
    expect(seed2).not.toEqual(a);
    const sorted = (xs: number[]) => [...xs].sort((p, q) => p - q);
    expect(sorted(epoch2)).toEqual(sorted(a));
  });

  it("normalises with the training split's statistics: training mean ≈ 0 and std ≈ 1 per channel", async () => {
    const sum = [0, 0, 0];
    const sq = [0, 0, 0];
    let n = 0;
    for await (const b of td.trainBatches(1, 32, 1)) {
      for (let p = 0; p < b.x.length; p += 3) for (let c = 0; c < 3; c++) {
        sum[c]! += b.x[p + c]!;
        sq[c]! += b.x[p + c]! ** 2;
      }
      n += b.size * S * S;
    }
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(sum[c]! / n)).toBeLessThan(1e-4);
      expect(Math.sqrt(sq[c]! / n - (sum[c]! / n) ** 2)).toBeCloseTo(1, 3);
    }
    // Validation data is not used for the statistics, so its mean is not exactly zero.
    const v = await collect(td.evalBatches("valid", 64));
    const vMean = v.reduce((s, b) => s + b.x.reduce((t, x) => t + x, 0), 0) / v.reduce((s, b) => s + b.x.length, 0);
    expect(Math.abs(vMean)).toBeGreaterThan(1e-4);
  });

  it("holds two batches per iterator: the third batch is read into the first one's memory", async () => {
    expect(td.counts.train).toBeGreaterThan(3 * 4);
    const buffers: ArrayBufferLike[] = [];
    for await (const b of td.trainBatches(1, 4, 3)) buffers.push(b.x.buffer);
    expect(new Set(buffers).size).toBe(2);
    expect(buffers[2]).toBe(buffers[0]);
  });

  it("serves validation and test batches in a fixed order", async () => {
    const a = await collect(td.evalBatches("test", 5));
    const b = await collect(td.evalBatches("test", 5));
    expect(fingerprints(b)).toEqual(fingerprints(a));
    expect(a.flatMap((x) => [...x.y])).toEqual(td.scenario.labels.test);
  });

  it("a second scenario on the same version reuses the cache and memoises its own statistics", async () => {
    const bin = await openTrialData(trainerData("radiograph", "binary"), S);
    try {
      expect(bin.cache.built).toBe(false);
      expect(bin.cache.dir).toBe(td.cache.dir);
      expect(bin.classes).toEqual(["other", "covid19"]);
      expect(bin.stats.mean).not.toEqual(td.stats.mean);
      expect((await listDir(join(td.cache.dir, "stats"))).length).toBe(2);
    } finally {
      await bin.close();
    }
  });
});
