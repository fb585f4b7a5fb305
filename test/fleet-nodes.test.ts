/**
 * Two worker nodes that share no filesystem with the API or with each other, and hold no database credentials:
 * each has Redis, the API's address and a worker token, its own (empty) data, cache and runs directories, and the
 * dataset version's stored path exists on neither. They fetch the version's preprocessed cache from the API (each
 * node once), record their trials through it, and the real TensorFlow.js trainer runs a sweep to the end on those
 * local copies. A final model trained on one node is uploaded to the API and recorded as the stored model; an
 * evaluation of it runs on another node (the first one stopped), which fetches it.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { scoreTest, toSplitScores } from "@hypersweep/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TRAINER_CMD } from "../apps/worker/src/main.ts";
import { ADMIN_TOKEN, eventually, ROOT, startStack, type Stack } from "./helpers/stack.ts";
import { PYTHON, requireTorchInCi, skipWithoutTorch } from "./helpers/torch.ts";
import { startHttpProxy, type HttpProxy } from "./helpers/http-proxy.ts";
import { evaluationDone, finalModel } from "./helpers/evaluations.ts";

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

  it("a TensorFlow.js final model trained on node a is stored by the API, and an evaluation on node b (a stopped) scores it as its test pass did", async () => {
    await finalOnAEvaluatedOnB("tfjs", ["model.json", "weights.bin"]);
  }, 400_000);

  it.skipIf(skipWithoutTorch)("so is a PyTorch final model (one model.safetensors)", async () => {
    requireTorchInCi();
    await finalOnAEvaluatedOnB("pytorch", ["model.safetensors"]);
  }, 400_000);
});

/**
 * A final model of `trainer` trained on node a is stored by the API; an evaluation on node b (a stopped) fetches it
 * and scores the final's test rows as its own test pass did. `files`: what the trainer publishes (the main first).
 */
async function finalOnAEvaluatedOnB(trainer: "tfjs" | "pytorch", files: string[]) {
  await s.stopWorkers();
  const { token } = (await s.http("POST", "/v1/admin/worker-tokens", { name: `final-models-${trainer}` }, ADMIN_TOKEN)).body as { token: string };
  const version = await s.db.datasetVersion.findUniqueOrThrow({ where: { id: s.dataset.versionId } });
  await s.db.datasetVersion.update({ where: { id: version.id }, data: { storagePath: join(s.tmp, "not-mounted", "versions", version.contentHash) } });
  const nodeDir = (name: string) => join(s.tmp, `${trainer}-node-${name}`);
  const startNode = async (name: string) => {
    const child = s.spawnWorker({
      HYPERSWEEP_WORKER_ID: `${trainer}-${name}`,
      HYPERSWEEP_DATA_DIR: join(nodeDir(name), "data"),
      HYPERSWEEP_CACHE_DIR: join(nodeDir(name), "cache"),
      HYPERSWEEP_RUNS_DIR: join(nodeDir(name), "runs"),
      HYPERSWEEP_API_URL: s.url,
      HYPERSWEEP_WORKER_TOKEN: token,
      ...(trainer === "tfjs"
        ? { HYPERSWEEP_TRAINER_CMD: DEFAULT_TRAINER_CMD.join(" ") }
        : { HYPERSWEEP_TRAINERS: "pytorch", HYPERSWEEP_PYTORCH_CMD: `env PYTHONPATH=${join(ROOT, "trainers/pytorch")} ${PYTHON} -m hypersweep_trainer` }),
      HYPERSWEEP_LEASE_MS: "15000",
      HYPERSWEEP_HEARTBEAT_MS: "2000",
    });
    if (process.env.DEBUG_FLEET) child.stderr?.on("data", (d: Buffer) => appendFileSync(process.env.DEBUG_FLEET!, d));
    await eventually(() => s.db.worker.findUnique({ where: { id: `${trainer}-${name}` } }), 60_000, 200);
  };

  await startNode("a");
  const model = await finalModel(s, s.dataset.name, { modality: "ct", task: "binary" }, { learningRates: [1e-2], batchSize: 32 }, { trainer });
  const final = (await s.http("GET", `/v1/trials/${model.finalId}`)).body;
  expect(final.attempts.map((a: { workerId: string }) => a.workerId)).toEqual([`${trainer}-a`]);
  // The result names the model the API stores, not a path on node a; the API holds every file it published.
  expect(final.weightsPath).toMatch(/^models\/[0-9a-f]{64}\/[a-z.]+$/);
  expect(final.weightsPath.split("/")[2]).toBe(files[0]);
  const storedDir = join(s.tmp, "data", dirname(final.weightsPath));
  const published = join(nodeDir("a"), "runs", model.finalId, "output");
  for (const f of files) expect(readFileSync(join(storedDir, f)).equals(readFileSync(join(published, f))), f).toBe(true);

  await s.stopWorkers();
  await startNode("b");
  const res = await s.http("POST", "/v1/evaluations", { trial: model.finalId, datasetVersion: version.id });
  expect(res.body.message ?? "").toBe("");
  expect(res.status).toBe(201);
  const done = await evaluationDone(s, res.body.id, 180_000);
  expect(done.error).toBeNull();
  expect(done.status).toBe("succeeded");
  const attempts = await s.db.attempt.findMany({ where: { trialId: res.body.id }, select: { workerId: true } });
  expect(attempts.map((a) => a.workerId)).toEqual([`${trainer}-b`]);
  // Node b fetched the model into its cache: the same bytes.
  const fetched = join(nodeDir("b"), "cache", dirname(final.weightsPath));
  for (const f of files) expect(readFileSync(join(fetched, f)).equals(readFileSync(join(storedDir, f))), f).toBe(true);

  // The same rows score as the final's own test pass scored them.
  const ev = (await s.http("GET", `/v1/evaluations/${res.body.id}/predictions`)).body;
  const kept = (await s.http("GET", `/v1/trials/${model.finalId}/predictions?split=test`)).body;
  const test = { ...kept.splits[0], classes: kept.classes };
  expect(test.split).toBe("test");
  expect(ev.images.length).toBeGreaterThan(10);
  const at = new Map<string, number>(test.images.map((h: string, i: number) => [h, i]));
  expect(ev.images.every((h: string) => at.has(h))).toBe(true);
  ev.images.forEach((h: string, i: number) => {
    const j = at.get(h)!;
    expect(ev.labels[i]).toBe(test.labels[j]);
    ev.probs[i].forEach((p: number, k: number) => expect(p).toBeCloseTo(test.probs[j][k], 5));
  });
  const rows = ev.images.map((h: string) => at.get(h)!);
  const ctx = { task: "binary" as const, classes: test.classes, positiveClass: "covid19" };
  const finalOnRows = scoreTest(toSplitScores({ labels: rows.map((j: number) => test.labels[j]), probs: rows.map((j: number) => test.probs[j]) }), ctx, 0);
  expect(done.result.confusionMatrix).toEqual(finalOnRows.confusionMatrix);
  for (const [k, v] of Object.entries(finalOnRows.metrics)) expect(done.result.metrics[k], k).toBeCloseTo(v as number, 5);
  // No test image of this dataset was seen in training or validation: the evaluation scored the whole test split,
  // and reports what the final's test pass reported.
  expect(res.body.selection.removed.total).toBe(0);
  expect([...ev.images].sort()).toEqual([...test.images].sort());
  expect(done.result.confusionMatrix).toEqual(final.metrics.test.confusionMatrix);
  for (const [k, v] of Object.entries(final.metrics.test.metrics)) expect(done.result.metrics[k], k).toBeCloseTo(v as number, 5);
  expect(readdirSync(storedDir).sort()).toEqual([...files].sort());
}
