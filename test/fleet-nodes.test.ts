/**
 * Two worker nodes that share no filesystem with the API or with each other, and hold no database credentials:
 * each has Redis, the API's address and a worker token, its own (empty) data, cache and runs directories, and the
 * dataset version's stored path exists on neither. They fetch the version's preprocessed cache from the API (each
 * node once), record their trials through it, and the real TensorFlow.js trainer runs a sweep to the end on those
 * local copies.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TRAINER_CMD } from "../apps/worker/src/main.ts";
import { ADMIN_TOKEN, eventually, startStack, type Stack } from "./helpers/stack.ts";
import { startHttpProxy, type HttpProxy } from "./helpers/http-proxy.ts";

let s: Stack;
const proxies: HttpProxy[] = [];

beforeAll(async () => {
  s = await startStack("fleetnodes");
});
afterAll(async () => {
  await s?.stopWorkers();
  for (const p of proxies) await p.close();
  await s?.close();
});

describe("worker nodes without a shared filesystem", () => {
  it("fetch the cache once per node and run a sweep to the end with the real trainer", async () => {
    const { token } = (await s.http("POST", "/v1/admin/worker-tokens", { name: "cloud-gpus" }, ADMIN_TOKEN)).body as { token: string };
    const version = await s.db.datasetVersion.findUniqueOrThrow({ where: { id: s.dataset.versionId } });
    // The version's directory as Postgres records it exists on no worker node.
    await s.db.datasetVersion.update({ where: { id: version.id }, data: { storagePath: join(s.tmp, "not-mounted", "versions", version.contentHash) } });

    // Node a runs two trainers at once (its two slots ask for the cache together), node b one.
    const nodes = ["a", "b"].map((name, i) => ({ name, dir: join(s.tmp, `node-${name}`), fetch: i === 0 ? "true" : "auto", slots: i === 0 ? "2" : "1" }));
    expect(s.workerEnv({ HYPERSWEEP_API_URL: s.url }).DATABASE_URL).toBeUndefined();
    for (const n of [...nodes].reverse()) {
      const proxy = await startHttpProxy(s.url);
      proxies.push(proxy);
      s.spawnWorker({
        HYPERSWEEP_WORKER_ID: `node-${n.name}`,
        HYPERSWEEP_DATA_DIR: join(n.dir, "data"),
        HYPERSWEEP_CACHE_DIR: join(n.dir, "cache"),
        HYPERSWEEP_RUNS_DIR: join(n.dir, "runs"),
        HYPERSWEEP_API_URL: proxy.url,
        HYPERSWEEP_WORKER_TOKEN: token,
        HYPERSWEEP_CACHE_FETCH: n.fetch,
        HYPERSWEEP_CONCURRENCY: n.slots,
        HYPERSWEEP_TRAINER_CMD: DEFAULT_TRAINER_CMD.join(" "),
        HYPERSWEEP_LEASE_MS: "15000",
        HYPERSWEEP_HEARTBEAT_MS: "2000",
      });
      // Each node is up before the next starts and before the sweep: every slot is waiting when trials arrive.
      await eventually(() => s.db.worker.findUnique({ where: { id: `node-${n.name}` } }), 60_000, 200);
    }
    proxies.reverse();
    const res = await s.http("POST", "/v1/sweeps", {
      dataset: s.dataset.id,
      scenario: { modality: "ct", task: "binary" },
      architectures: ["small_cnn"],
      seed: 5,
      overrides: { learningRates: [1e-2], subsetsPerRate: 4, searchEpochs: 1, imageSize: 16, batchSize: 32, final: false },
    });
    expect(res.status).toBe(201);
    const done = await eventually(async () => {
      const r = await s.http("GET", `/v1/sweeps/${res.body.id}`);
      return ["succeeded", "failed"].includes(r.body.status) ? r.body : null;
    }, 240_000, 500);
    const { body } = await s.http("GET", `/v1/sweeps/${res.body.id}/trials`);
    expect(body.trials.map((t: { error: string | null }) => t.error)).toEqual([null, null, null, null]);
    expect(done.status).toBe("succeeded");
    expect(body.trials.map((t: { epochsDone: number }) => t.epochsDone)).toEqual([1, 1, 1, 1]);

    // Both nodes trained, and node a had two trials running at once.
    const attempts = await s.db.attempt.findMany({ where: { trial: { sweepId: res.body.id } }, select: { workerId: true, startedAt: true, finishedAt: true } });
    expect(new Set(attempts.map((a) => a.workerId))).toEqual(new Set(["node-a", "node-b"]));
    const onA = attempts.filter((a) => a.workerId === "node-a");
    expect(onA.some((x) => onA.some((y) => x !== y && x.startedAt < y.finishedAt! && y.startedAt < x.finishedAt!))).toBe(true);

    const apiImages = readFileSync(join(s.tmp, "cache", version.contentHash, "16", "images.u8"));
    nodes.forEach((n, i) => {
      const local = join(n.dir, "cache", version.contentHash);
      expect(readFileSync(join(local, "16", "images.u8")).equals(apiImages), n.name).toBe(true);
      expect(JSON.parse(readFileSync(join(local, "manifest.json"), "utf8")).contentHash, n.name).toBe(version.contentHash);
      // The trainer read the local copy: it memoised the scenario's normalisation statistics next to it.
      expect(readdirSync(join(local, "16", "stats")).length, n.name).toBeGreaterThan(0);
      // No image file was copied to the node.
      expect(existsSync(join(local, "images")), n.name).toBe(false);
      expect(existsSync(join(n.dir, "data")), n.name).toBe(false);
      // Once per node, however many trials it ran (node a: two slots at once); and its trials were claimed through the API.
      const seen = proxies[i]!.seen;
      expect(seen.some((r) => r.method === "POST" && /^\/v1\/worker\/.*claim/.test(r.path)), n.name).toBe(true);
      expect(seen.filter((r) => r.path.endsWith("/16/images.u8") && r.status === 200), n.name).toHaveLength(1);
      expect(seen.filter((r) => r.path.endsWith("/manifest.json") && r.status === 200), n.name).toHaveLength(1);
    });
  }, 300_000);
});
