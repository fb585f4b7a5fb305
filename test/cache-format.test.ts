/**
 * The preprocessing cache as a format (docs/cache-format.md): the PyTorch trainer's Python reader, given a cache
 * built by @hypersweep/data, sees the same scenario rows, image hashes, normalisation statistics and batches
 * (order, labels and normalised float32 values, bit for bit) as openTrialData does.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Batch, TrainerData } from "@hypersweep/core";
import { openTrialData } from "@hypersweep/data";
import { contractDataset, type ContractDataset } from "./helpers/trainer-process.ts";
import { PYTHON, requireTorchInCi, skipWithoutTorch } from "./helpers/torch.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const S = 16;
let ds: ContractDataset;
beforeAll(async () => {
  requireTorchInCi();
  ds = await contractDataset(90, 4);
});
afterAll(() => ds?.cleanup());

interface Seen {
  rows: Record<string, number[]>;
  labels: Record<string, number[]>;
  hashes: Record<string, string[]>;
  stats: { mean: number[]; std: number[]; count: number };
  recomputed: { mean: number[]; std: number[]; count: number };
  train: { y: number[]; x: string }[];
  valid: { y: number[]; x: string }[];
}

function probe(data: TrainerData, seed: number, epoch: number, batch: number): Seen {
  const out = execFileSync(PYTHON, [path.join(REPO, "test/fixtures/python_cache_probe.py"), String(S), String(seed), String(epoch), String(batch)], {
    input: JSON.stringify(data),
    env: { ...process.env, PYTHONPATH: path.join(REPO, "trainers/pytorch") },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.toString("utf8")) as Seen;
}

async function collect(it: AsyncIterable<Batch>) {
  const out: { y: number[]; x: string }[] = [];
  for await (const b of it) out.push({ y: Array.from(b.y), x: Buffer.from(b.x.buffer, b.x.byteOffset, b.x.byteLength).toString("base64") });
  return out;
}

describe("the preprocessing cache read by the PyTorch trainer", () => {
  it.skipIf(skipWithoutTorch)("gives the rows, statistics and batches that @hypersweep/data gives", async () => {
    const scenarios = { binary: ["other", "covid19"], multiclass: ["healthy", "covid19", "fungal"] };
    for (const [task, classes] of Object.entries(scenarios) as ["binary" | "multiclass", string[]][]) {
      const data: TrainerData = {
        datasetVersionId: ds.contentHash, datasetDir: ds.versionDir, cacheDir: path.join(ds.root, "cache"),
        scenario: { key: `ct/${task}`, modality: "ct", task, classes, positiveClass: "covid19", filters: {}, minPerClass: 0 },
      };
      // @hypersweep/data writes the cache (and memoises the statistics); Python only reads.
      const td = await openTrialData(data, S);
      try {
        const seen = probe(data, 11, 2, 8);
        const split = (s: "train" | "valid" | "test") => ({ rows: td.scenario.rowIndices[s], labels: td.scenario.labels[s], hashes: td.scenario.rowIndices[s].map((i) => ds.rows[i]!.sha256) });
        for (const s of ["train", "valid", "test"] as const) {
          expect({ rows: seen.rows[s], labels: seen.labels[s], hashes: seen.hashes[s] }).toEqual(split(s));
        }
        expect(seen.stats).toEqual(td.stats);
        // Recomputed from the bytes, the statistics agree (exact integer sums; the same float operations).
        for (const c of [0, 1, 2]) {
          expect(seen.recomputed.mean[c]).toBe(td.stats.mean[c]);
          expect(seen.recomputed.std[c]).toBeCloseTo(td.stats.std[c]!, 12);
        }
        expect(seen.train).toEqual(await collect(td.trainBatches(2, 8, 11)));
        expect(seen.valid).toEqual(await collect(td.evalBatches("valid", 8)));
      } finally {
        await td.close();
      }
    }
  });
});
