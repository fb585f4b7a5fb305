/**
 * When a node fetches its trials' data from the API (HYPERSWEEP_CACHE_FETCH), and what of a trainer spec then
 * points at the node's own cache: both datasets of an evaluation, and pretrained weights.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, workerEnv } from "@hypersweep/config";
import { TrainerSpec } from "@hypersweep/core";
import { FetchingRunner, withCacheFetch } from "../src/cache-fetch/fetching-runner.ts";
import { WorkerApi } from "../src/cache-fetch/download.ts";
import { NodeCache, type Pinned } from "../src/cache-fetch/node-cache.ts";
import type { TrialRunner } from "../src/runner.ts";

const inner: TrialRunner = { run: async () => ({ kind: "error", reason: "internal", message: "not run", retryable: false }) };
const cfg = (env: Record<string, string>) => parseEnv(workerEnv, env);
const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);
const SHA = "c".repeat(64);

describe("HYPERSWEEP_CACHE_FETCH", () => {
  it("wraps the runner only when fetching is on and possible, and names what is missing when it must", () => {
    expect(withCacheFetch(inner, cfg({}))).toBe(inner);
    expect(withCacheFetch(inner, cfg({ HYPERSWEEP_CACHE_FETCH: "false", HYPERSWEEP_API_URL: "http://api:8080", HYPERSWEEP_WORKER_TOKEN: "hsw_x" }))).toBe(inner);
    expect(withCacheFetch(inner, cfg({ HYPERSWEEP_API_URL: "http://api:8080", HYPERSWEEP_WORKER_TOKEN: "hsw_x" }))).toBeInstanceOf(FetchingRunner);
    let err: unknown;
    try {
      withCacheFetch(inner, cfg({ HYPERSWEEP_CACHE_FETCH: "true", HYPERSWEEP_API_URL: "http://api:8080" }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([{ variable: "HYPERSWEEP_WORKER_TOKEN", message: "required when HYPERSWEEP_CACHE_FETCH is true" }]);
  });

  it("refuses a team key or a bad value where a worker token or a bound goes", () => {
    expect(() => cfg({ HYPERSWEEP_WORKER_TOKEN: "hs_abcd_team" })).toThrow(/HYPERSWEEP_WORKER_TOKEN: must be a worker token/);
    expect(() => cfg({ HYPERSWEEP_CACHE_FETCH: "yes" })).toThrow(/HYPERSWEEP_CACHE_FETCH/);
    expect(() => cfg({ HYPERSWEEP_CACHE_MAX_BYTES: "1000" })).toThrow(/HYPERSWEEP_CACHE_MAX_BYTES/);
  });
});

/** A node cache whose downloads are stand-ins: what is tested here is which paths of the spec change. */
class RecordingCache extends NodeCache {
  asked: string[] = [];
  override async version(contentHash: string, size: number): Promise<Pinned & { datasetDir: string }> {
    this.asked.push(`${contentHash}/${size}`);
    return { path: join(this.opts.root, contentHash, String(size)), datasetDir: join(this.opts.root, contentHash), release: async () => {} };
  }
  override async weights(sha256: string): Promise<Pinned> {
    this.asked.push(`weights/${sha256}`);
    return { path: join(this.opts.root, "weights", `${sha256}.safetensors`), release: async () => {} };
  }
}

const data = (hash: string) => ({
  datasetVersionId: "v", datasetDir: `/mnt/gone/versions/${hash}`, cacheDir: "/mnt/gone/cache",
  scenario: { key: "ct/binary", modality: "ct", task: "binary", classes: ["other", "covid19"], positiveClass: "covid19", filters: {}, minPerClass: 0 },
});
const spec = TrainerSpec.parse({
  trialId: "t", attempt: 1, architecture: "small_cnn", learningRate: 1e-3, augmentations: [], stage: "evaluate", epochs: 1, batchSize: 8, imageSize: 16,
  schedule: { stepSize: 10, gamma: 0.1 }, augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 },
  selectionMetric: "auc", task: "binary", seed: 1, checkpointDir: "/runs/t/c", outputDir: "/runs/t/o",
  pretrained: `/mnt/gone/weights/${SHA}.safetensors`, data: data(HASH_A),
  evaluate: { weightsPath: "/runs/x/weights", epoch: 1, images: ["d".repeat(64)], trainedOn: data(HASH_B) },
});

describe("a spec localised to the node's cache", () => {
  it("points every version it reads and its pretrained weights at the node's copies", async () => {
    const root = mkdtempSync(join(tmpdir(), "hs-localise-"));
    const cache = new RecordingCache({ root, maxBytes: 1024 ** 3, api: new WorkerApi({ url: "http://127.0.0.1:9", token: "hsw_x" }) });
    const out = await new FetchingRunner(inner, cache, false).localise(spec, []);
    expect(cache.asked.sort()).toEqual([`${HASH_A}/16`, `${HASH_B}/16`, `weights/${SHA}`]);
    expect(out.data).toMatchObject({ datasetDir: join(root, HASH_A), cacheDir: root, datasetVersionId: "v" });
    expect(out.evaluate!.trainedOn).toMatchObject({ datasetDir: join(root, HASH_B), cacheDir: root });
    expect(out.pretrained).toBe(join(root, "weights", `${SHA}.safetensors`));
    expect(out.evaluate!.weightsPath).toBe("/runs/x/weights");
  });

  it("leaves alone, in auto mode, what this node can read (a shared volume)", async () => {
    const shared = mkdtempSync(join(tmpdir(), "hs-shared-"));
    const dir = join(shared, "versions", HASH_A);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "manifest.json"), "{}");
    const cache = new RecordingCache({ root: join(shared, "node"), maxBytes: 1024 ** 3, api: new WorkerApi({ url: "http://127.0.0.1:9", token: "hsw_x" }) });
    const readable = TrainerSpec.parse({ ...spec, stage: "search", evaluate: undefined, pretrained: undefined, data: { ...data(HASH_A), datasetDir: dir } });
    expect(await new FetchingRunner(inner, cache, false).localise(readable, [])).toEqual(readable);
    expect(cache.asked).toEqual([]);
    await new FetchingRunner(inner, cache, true).localise(readable, []);
    expect(cache.asked).toEqual([`${HASH_A}/16`]);
  });
});
