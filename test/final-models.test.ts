/**
 * Final models stored by the API for nodes without a shared filesystem, over real HTTP: the upload is checked
 * against its declared sha256 while it streams (a corrupted body is 400 naming the file, and nothing is kept),
 * bounded by HYPERSWEEP_MODEL_LIMIT, idempotent (the same content again is 200), first-writer-wins (other content
 * under the same key is 409); the manifest is accepted only once its files are stored, and then a node's cache
 * fetches the model (files checked against the manifest, the manifest against the model's id). Every upload names
 * its attempt, and only an attempt that holds its trial's lease stores anything (409 LEASE_LOST otherwise).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelIdOf, type StoredModelManifest } from "@hypersweep/core";
import { WorkerApi } from "../apps/worker/src/cache-fetch/download.ts";
import { uploadModel } from "../apps/worker/src/cache-fetch/model-upload.ts";
import { NodeCache } from "../apps/worker/src/cache-fetch/node-cache.ts";
import { ADMIN_TOKEN, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

let s: Stack;
let token: string;
/** The attempt the uploads below belong to: it holds its trial's lease throughout. */
let owner: { trialId: string; attempt: number };
const LIMIT = 64 * 1024;
const lease = { leaseMs: 600_000, maxAttempts: 3 };
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const worker = (method: string, path: string, body?: unknown) => s.http(method, `/v1/worker${path}`, body, token);
const query = (o: { trialId: string; attempt: number | string }) => `?${new URLSearchParams({ trialId: o.trialId, attempt: String(o.attempt) })}`;
const put = (path: string, body: Buffer | string, headers: Record<string, string> = {}, by: string = query(owner)) =>
  fetch(`${s.url}/v1/worker/models/${path}${by}`, {
    method: "PUT",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { authorization: `Bearer ${token}`, "content-type": typeof body === "string" ? "application/json" : "application/octet-stream", ...headers },
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
const get = (path: string) => fetch(`${s.url}/v1/worker/models/${path}`, { headers: { authorization: `Bearer ${token}` } });
const stored = (model: string) => readdirSync(join(s.tmp, "data", "models", model), { withFileTypes: true }).map((d) => d.name).sort();

beforeAll(async () => {
  s = await startStack("finalmodels", { apiEnv: { HYPERSWEEP_MODEL_LIMIT: String(LIMIT) } });
  token = (await s.http("POST", "/v1/admin/worker-tokens", { name: "node" }, ADMIN_TOKEN)).body.token;
  owner = await runningAttempt();
});

/** A new trial claimed by a node: its attempt 1 holds the lease. */
async function runningAttempt(): Promise<{ trialId: string; attempt: number }> {
  const sweep = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 1, learningRates: [1e-3], subsetsPerRate: 1 } }));
  expect(sweep.status).toBe(201);
  const trialId = sweep.body.trials[0].id as string;
  const claim = await worker("POST", `/trials/${trialId}/claim`, { workerId: "node-1", ...lease });
  expect(claim.body).toMatchObject({ kind: "claimed", trial: { attempt: 1 } });
  return { trialId, attempt: 1 };
}
afterAll(async () => {
  await s?.close();
});

describe("final models uploaded to the API", () => {
  const json = Buffer.from(JSON.stringify({ format: "layers-model", weightsManifest: [{ paths: ["weights.bin"], weights: [] }] }));
  const bin = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 251));
  const manifest: StoredModelManifest = { main: "model.json", files: [{ name: "model.json", sha256: sha(json), bytes: json.length }, { name: "weights.bin", sha256: sha(bin), bytes: bin.length }] };
  const id = modelIdOf(manifest);

  it("refuses a corrupted file with 400 naming it and keeps nothing; a retried upload is 200; other content under the key is 409", async () => {
    const corrupted = Buffer.from(bin);
    corrupted[100] ^= 0xff;
    const bad = await put(`${id}/weights.bin`, corrupted, { "x-content-sha256": sha(bin) });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^weights\.bin: the body's sha256 is [0-9a-f]{64} \(5000 bytes\), not [0-9a-f]{64}.*nothing was stored/);
    expect(bad.body.issues[0].path).toBe("body");
    expect(existsSync(join(s.tmp, "data", "models", id))).toBe(false);

    // Only worker tokens may store models: a team's key is 403, no token 401.
    expect((await put(`${id}/weights.bin`, bin, { "x-content-sha256": sha(bin), authorization: `Bearer ${s.team.apiKey}` })).status).toBe(403);
    const anonymous = await fetch(`${s.url}/v1/worker/models/${id}/weights.bin`, { method: "PUT", body: new Uint8Array(bin), headers: { "content-type": "application/octet-stream", "x-content-sha256": sha(bin) } });
    expect(anonymous.status).toBe(401);
    expect(existsSync(join(s.tmp, "data", "models", id))).toBe(false);

    const noHash = await put(`${id}/weights.bin`, bin);
    expect(noHash.status).toBe(400);
    expect(JSON.stringify(noHash.body)).toContain("x-content-sha256");
    const badName = await put(`${id}/..weights`, bin, { "x-content-sha256": sha(bin) });
    expect(badName.status).toBe(400);
    expect(JSON.stringify(badName.body)).toContain("name");

    // The manifest before its files: refused, naming what is missing.
    const early = await put(id, JSON.stringify(manifest));
    expect(early.status).toBe(400);
    expect(early.body.message).toContain("model.json");
    expect((await get(id)).status).toBe(404);

    expect((await put(`${id}/weights.bin`, bin, { "x-content-sha256": sha(bin) })).status).toBe(201);
    const again = await put(`${id}/weights.bin`, bin, { "x-content-sha256": sha(bin) });
    expect(again.status).toBe(200);
    expect(again.body.stored).toBe("already");
    const other = await put(`${id}/weights.bin`, corrupted, { "x-content-sha256": sha(corrupted) });
    expect(other.status).toBe(409);
    expect(other.body.message).toContain("weights.bin");
    expect(readFileSync(join(s.tmp, "data", "models", id, "weights.bin")).equals(bin)).toBe(true);
    expect(stored(id)).toEqual(["weights.bin"]);

    expect((await put(`${id}/model.json`, json, { "x-content-sha256": sha(json) })).status).toBe(201);
    // A manifest that does not hash to the id it is stored under is refused.
    const wrong = await put(id, JSON.stringify({ ...manifest, main: "weights.bin" }));
    expect(wrong.status).toBe(400);
    expect(wrong.body.issues[0].path).toBe("params.model");
    expect((await put(id, JSON.stringify(manifest))).status).toBe(201);
    expect((await put(id, JSON.stringify(manifest))).status).toBe(200);
    const file = await get(`${id}/weights.bin`);
    expect(file.headers.get("etag")).toBe(`"${sha(bin)}"`);
    expect(Buffer.from(await file.arrayBuffer()).equals(bin)).toBe(true);
    expect((await get(`${id}/other.bin`)).status).toBe(404);
  });

  it("stores only for an attempt that holds its trial's lease: a finished, lost or unknown attempt is 409 and nothing is kept", async () => {
    const body = Buffer.from("a model of one file");
    const m: StoredModelManifest = { main: "model.safetensors", files: [{ name: "model.safetensors", sha256: sha(body), bytes: body.length }] };
    const model = modelIdOf(m);
    const dir = join(s.tmp, "data", "models", model);
    const file = (by: { trialId: string; attempt: number | string }) => put(`${model}/model.safetensors`, body, { "x-content-sha256": sha(body) }, query(by));
    const refusedFor = async (by: { trialId: string; attempt: number }) => {
      const r = await file(by);
      expect([r.status, r.body.error]).toEqual([409, "LEASE_LOST"]);
      expect(r.body.message).toContain(`attempt ${by.attempt} of trial ${by.trialId}`);
      const manifest = await put(model, JSON.stringify(m), {}, query(by));
      expect([manifest.status, manifest.body.error]).toEqual([409, "LEASE_LOST"]);
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(`${dir}.json`)).toBe(false);
    };

    // Bad input is 400 naming the field, whoever holds what.
    for (const [by, field] of [
      ["", "trialId"],
      [`?trialId=${owner.trialId}`, "attempt"],
      [`?trialId=not-a-uuid&attempt=1`, "trialId"],
      [`?trialId=${owner.trialId}&attempt=0`, "attempt"],
      [`?trialId=${owner.trialId}&attempt=first`, "attempt"],
    ] as const) {
      const r = await put(`${model}/model.safetensors`, body, { "x-content-sha256": sha(body) }, by);
      expect([by, r.status]).toEqual([by, 400]);
      expect(r.body.issues.map((i: { path: string }) => i.path)).toContain(`querystring.${field}`);
      const manifest = await put(model, JSON.stringify(m), {}, by);
      expect([by, manifest.status]).toEqual([by, 400]);
      expect(manifest.body.message).toContain(field);
    }

    // A trial no node claimed, a trial that does not exist, an attempt the trial never had.
    const queued = (await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 1, learningRates: [1e-3], subsetsPerRate: 1 } }))).body.trials[0].id as string;
    await refusedFor({ trialId: queued, attempt: 1 });
    await refusedFor({ trialId: "00000000-0000-4000-8000-000000000000", attempt: 1 });
    const held = await runningAttempt();
    await refusedFor({ trialId: held.trialId, attempt: 2 });

    // Lost: the node stopped heartbeating and another took the trial over as attempt 2.
    await s.db.trial.update({ where: { id: held.trialId }, data: { leaseExpiresAt: new Date(Date.now() - 1000) } });
    expect((await worker("POST", `/trials/${held.trialId}/claim`, { workerId: "node-2", ...lease })).body).toMatchObject({ kind: "claimed", trial: { attempt: 2 } });
    await refusedFor({ trialId: held.trialId, attempt: 1 });

    // The attempt holding the lease stores; its retry is 200; then its result is recorded and the trial is done.
    const now = { trialId: held.trialId, attempt: 2 };
    expect((await file(now)).status).toBe(201);
    const retried = await file(now);
    expect([retried.status, retried.body.stored]).toEqual([200, "already"]);
    expect((await put(model, JSON.stringify(m), {}, query(now))).status).toBe(201);
    expect((await put(model, JSON.stringify(m), {}, query(now))).status).toBe(200);
    const recorded = await worker("POST", `/trials/${held.trialId}/attempts/2/result`, { bestEpoch: 1, metrics: { auc: 0.5 }, valAuc: 0.5, valF1: 0.5, valLoss: 0.5, selectionScore: 0.5, tiebreakScore: 0.5, weightsPath: `models/${model}/model.safetensors` });
    expect(recorded.status).toBe(200);

    // Finished: even the very content it stored is refused now, and another model of it is not stored.
    const late = await file(now);
    expect([late.status, late.body.error]).toEqual([409, "LEASE_LOST"]);
    const other = Buffer.from("another model");
    const otherId = modelIdOf({ main: "model.safetensors", files: [{ name: "model.safetensors", sha256: sha(other), bytes: other.length }] });
    const refused = await put(`${otherId}/model.safetensors`, other, { "x-content-sha256": sha(other) }, query(now));
    expect([refused.status, refused.body.error]).toEqual([409, "LEASE_LOST"]);
    expect(existsSync(join(s.tmp, "data", "models", otherId))).toBe(false);
    expect(readFileSync(join(dir, "model.safetensors")).equals(body)).toBe(true);

    // A node's upload of a finished attempt fails naming the refusal.
    const out = join(s.tmp, "node-late", "output");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "model.safetensors"), other);
    await expect(uploadModel(new WorkerApi({ url: s.url, token }), join(out, "model.safetensors"), now)).rejects.toThrow(/HTTP 409: attempt 2 of trial [0-9a-f-]{36} does not hold the trial's lease/);
    expect(existsSync(join(s.tmp, "data", "models", otherId))).toBe(false);
  });

  it("bounds a file by HYPERSWEEP_MODEL_LIMIT (413) and keeps nothing of it", async () => {
    const big = Buffer.alloc(LIMIT + 1, 7);
    const m: StoredModelManifest = { main: "model.safetensors", files: [{ name: "model.safetensors", sha256: sha(big), bytes: big.length }] };
    const res = await put(`${modelIdOf(m)}/model.safetensors`, big, { "x-content-sha256": sha(big) });
    expect(res.status).toBe(413);
    expect(res.body.message).toContain("HYPERSWEEP_MODEL_LIMIT");
    expect(existsSync(join(s.tmp, "data", "models", modelIdOf(m), "model.safetensors"))).toBe(false);
  });

  it("a node uploads a published TensorFlow.js model (model.json and the weights it names) and another node fetches it", async () => {
    const out = join(s.tmp, "node-a", "runs", "t", "output");
    mkdirSync(out, { recursive: true });
    const bin2 = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 13) % 256));
    writeFileSync(join(out, "model.json"), JSON.stringify({ format: "layers-model", weightsManifest: [{ paths: ["./weights.bin"], weights: [] }] }));
    writeFileSync(join(out, "weights.bin"), bin2);
    writeFileSync(join(out, "unrelated.txt"), "not part of the model");
    const api = new WorkerApi({ url: s.url, token });
    const up = await uploadModel(api, join(out, "model.json"), owner);
    expect(up.address).toMatch(/^models\/[0-9a-f]{64}\/model\.json$/);
    expect(up.manifest.files.map((f) => f.name)).toEqual(["model.json", "weights.bin"]);
    // Uploading again (a retried attempt with the same model) is accepted and changes nothing.
    expect((await uploadModel(api, join(out, "model.json"), owner)).address).toBe(up.address);

    const modelId = up.address.split("/")[1]!;
    const cache = new NodeCache({ root: join(s.tmp, "node-b", "cache"), maxBytes: 1024 ** 3, api });
    const pinned = await cache.model(modelId);
    expect(readFileSync(join(pinned.path, "weights.bin")).equals(bin2)).toBe(true);
    expect(existsSync(join(pinned.path, "unrelated.txt"))).toBe(false);
    await pinned.release();
    await (await cache.model(modelId)).release();
    expect(cache.downloads.models).toBe(1);
    await expect(cache.model("f".repeat(64))).rejects.toThrow(/HTTP 404/);

    // A model.json naming a file outside its directory is not uploaded.
    writeFileSync(join(out, "model.json"), JSON.stringify({ format: "layers-model", weightsManifest: [{ paths: ["../secrets.bin"], weights: [] }] }));
    await expect(uploadModel(api, join(out, "model.json"), owner)).rejects.toThrow(/"\.\.\/secrets\.bin" that is not a plain file name/);
  });
});
