/**
 * Stored final models no result names are deleted, over real HTTP and real files: an unreferenced model older than
 * HYPERSWEEP_MODEL_GRACE_MS (manifest and files), a directory whose manifest never came, the temporary files of
 * uploads that never finished. A model a trial's weights_path names stays whatever its age, and so does anything
 * younger than the grace period (an upload in flight, a result about to be recorded); a model uploaded again is
 * young again. POST /v1/admin/models/prune answers what it removed and kept, as the disk shows it; the CLI prints
 * it; the API runs the same pass at start and every HYPERSWEEP_MODEL_PRUNE_MS, logging what it deletes.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiEnv, ConfigError, parseEnv } from "@hypersweep/config";
import { modelIdOf, type StoredModelManifest } from "@hypersweep/core";
import { buildApp } from "../apps/api/src/app.ts";
import { ADMIN_TOKEN, eventually, ROOT, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

const run = promisify(execFile);
const HOUR = 3_600_000;
let s: Stack;
let trialIds: string[];

beforeAll(async () => {
  // Only the admin route prunes here: the answers below are then exactly what one pass did.
  s = await startStack("modelprune", { apiEnv: { HYPERSWEEP_MODEL_PRUNE_MS: "0" } });
  const sweep = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 1, learningRates: [1e-3], subsetsPerRate: 3 } }));
  expect(sweep.status).toBe(201);
  trialIds = sweep.body.trials.map((t: { id: string }) => t.id);
});
afterAll(async () => s?.close());

const sha = (b: string) => createHash("sha256").update(b).digest("hex");
const ago = (ms: number) => new Date(Date.now() - ms);
const touchBack = (path: string, ageMs: number) => utimesSync(path, ago(ageMs), ago(ageMs));

/**
 * A model as the upload routes leave it under `root`: its files in models/<id>/, its manifest at models/<id>.json
 * (unless `manifest: false`), temporary uploads beside its files; every entry last written `ageMs` ago.
 */
function plant(root: string, content: string, o: { ageMs: number; manifest?: boolean; temps?: Array<{ ageMs: number; bytes: number }> }): string {
  const m: StoredModelManifest = { main: "model.safetensors", files: [{ name: "model.safetensors", sha256: sha(content), bytes: Buffer.byteLength(content) }] };
  const id = modelIdOf(m);
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "model.safetensors"), content);
  touchBack(join(dir, "model.safetensors"), o.ageMs);
  for (const [i, t] of (o.temps ?? []).entries()) {
    const tmp = join(dir, `.model.safetensors.${"ab12cd34ef5" + i}.upload`);
    writeFileSync(tmp, Buffer.alloc(t.bytes, 1));
    touchBack(tmp, t.ageMs);
  }
  if (o.manifest !== false) {
    writeFileSync(join(root, `${id}.json`), JSON.stringify(m));
    touchBack(join(root, `${id}.json`), o.ageMs);
  }
  touchBack(dir, o.ageMs);
  return id;
}

/** Every file under `dir` with its size: what the disk holds. */
function files(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    if (e.isFile()) out.set(path.slice(dir.length + 1), statSync(path).size);
  }
  return out;
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const prune = (key: string | null = ADMIN_TOKEN) => s.http("POST", "/v1/admin/models/prune", undefined, key);

describe("pruning stored final models", () => {
  it("removes unreferenced models, manifest-less directories and unfinished uploads past the grace period; keeps referenced and young ones", async () => {
    const root = join(s.tmp, "data", "models");
    const unreferencedOld = plant(root, "lost its lease", { ageMs: 2 * HOUR });
    const referencedOld = plant(root, "the recorded final", { ageMs: 30 * 24 * HOUR, temps: [{ ageMs: 3 * HOUR, bytes: 70 }] });
    const referencedResolved = plant(root, "recorded under the data root", { ageMs: 5 * HOUR });
    const unreferencedYoung = plant(root, "result about to be recorded", { ageMs: 10 * 60_000 });
    const partialOld = plant(root, "node stopped before its manifest", { ageMs: 2 * HOUR, manifest: false });
    const partialYoung = plant(root, "upload in flight", { ageMs: 60_000, manifest: false, temps: [{ ageMs: 1000, bytes: 30 }] });
    // A large file still streaming after the grace period: its directory is old, its temporary file is not.
    const longUpload = plant(root, "a long upload, still streaming", { ageMs: 2 * HOUR, manifest: false, temps: [{ ageMs: 1000, bytes: 40 }] });
    const onlyTemp = plant(root, "crashed mid-file", { ageMs: 2 * HOUR, manifest: false, temps: [{ ageMs: 2 * HOUR, bytes: 50 }] });
    const tempManifest = join(root, `.${unreferencedOld}.0123456789ab.json`);
    writeFileSync(tempManifest, "{\"main\":");
    touchBack(tempManifest, 2 * HOUR);
    await s.db.trial.update({ where: { id: trialIds[0] }, data: { weightsPath: `models/${referencedOld}/model.safetensors` } });
    await s.db.trial.update({ where: { id: trialIds[1] }, data: { weightsPath: join(s.tmp, "data", "models", referencedResolved, "model.safetensors") } });
    const before = files(root);

    // Only the admin token prunes: a team's key, a worker token or none at all is refused and removes nothing.
    const worker = (await s.http("POST", "/v1/admin/worker-tokens", { name: "node" }, ADMIN_TOKEN)).body.token as string;
    for (const key of [s.team.apiKey, worker, null]) {
      const r = await prune(key);
      expect([401, 403]).toContain(r.status);
      expect(r.body.error).toBe("UNAUTHORIZED");
    }
    expect(files(root)).toEqual(before);

    const r = await prune();
    expect(r.status).toBe(200);
    const after = files(root);
    expect(r.body).toEqual({
      graceMs: HOUR,
      removed: { models: 1, partial: 2, uploads: 3, bytes: total(before) - total(after), ids: [unreferencedOld, partialOld, onlyTemp].sort() },
      kept: { referenced: 2, young: 3, bytes: total(after) },
    });
    // What remains: the referenced models (without the stale upload in one), the young ones with their upload.
    expect([...after.keys()].sort()).toEqual([
      `${referencedOld}.json`, `${referencedOld}/model.safetensors`,
      `${referencedResolved}.json`, `${referencedResolved}/model.safetensors`,
      `${unreferencedYoung}.json`, `${unreferencedYoung}/model.safetensors`,
      `${partialYoung}/.model.safetensors.ab12cd34ef50.upload`, `${partialYoung}/model.safetensors`,
      `${longUpload}/.model.safetensors.ab12cd34ef50.upload`, `${longUpload}/model.safetensors`,
    ].sort());
    for (const id of [unreferencedOld, partialOld, onlyTemp]) expect(existsSync(join(root, id)), id).toBe(false);

    // A second pass finds nothing more to remove.
    expect((await prune()).body).toMatchObject({ removed: { models: 0, partial: 0, uploads: 0, bytes: 0, ids: [] }, kept: { referenced: 2, young: 3, bytes: total(after) } });

    // The served model is still served.
    const token = worker;
    const served = await fetch(`${s.url}/v1/worker/models/${referencedOld}/model.safetensors`, { headers: { authorization: `Bearer ${token}` } });
    expect(await served.text()).toBe("the recorded final");
  });

  it("keeps an old model that a running attempt uploads again (its manifest answered 'already stored')", async () => {
    const root = join(s.tmp, "data", "models");
    const id = plant(root, "the same model, trained again", { ageMs: 3 * HOUR });
    const token = (await s.http("POST", "/v1/admin/worker-tokens", { name: "again" }, ADMIN_TOKEN)).body.token as string;
    const claim = await s.http("POST", `/v1/worker/trials/${trialIds[2]}/claim`, { workerId: "node-again", leaseMs: 600_000, maxAttempts: 3 }, token);
    expect(claim.body.kind).toBe("claimed");
    const manifest = await fetch(`${s.url}/v1/worker/models/${id}?trialId=${trialIds[2]}&attempt=${claim.body.trial.attempt}`, {
      method: "PUT",
      body: readFileSync(join(root, `${id}.json`), "utf8"),
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
    expect(manifest.status).toBe(200);
    const r = await prune();
    expect(r.body.removed.ids).not.toContain(id);
    expect(existsSync(join(root, `${id}.json`))).toBe(true);
    expect(existsSync(join(root, id, "model.safetensors"))).toBe(true);
  });

  it("hypersweep admin prune-models prints what the pass removed and kept", async () => {
    const root = join(s.tmp, "data", "models");
    const id = plant(root, "printed by the CLI", { ageMs: 2 * HOUR });
    const cli = async (env: Record<string, string>) => {
      try {
        const out = await run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), "admin", "prune-models"], { cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, ...env } });
        return { code: 0, ...out };
      } catch (e) {
        return e as { code: number; stdout: string; stderr: string };
      }
    };
    const refused = await cli({ HYPERSWEEP_ADMIN_TOKEN: s.team.apiKey });
    expect(refused.code).toBe(4);
    expect(existsSync(join(root, id))).toBe(true);
    const ok = await cli({ HYPERSWEEP_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/^removed 1 unreferenced model\(s\), 0 without a manifest, 0 unfinished upload\(s\): \d+ bytes\nkept 2 referenced model\(s\), \d+ younger than 3600000 ms: \d+ bytes\n/);
    expect(ok.stdout).toContain(`  removed ${id}\n`);
    expect(existsSync(join(root, id))).toBe(false);
  });

  it("the API prunes at start and every HYPERSWEEP_MODEL_PRUNE_MS, logging each model it deletes; the grace period is at least a minute", async () => {
    expect(() => parseEnv(apiEnv, { HYPERSWEEP_MODEL_GRACE_MS: "1000" })).toThrow(ConfigError);
    expect(() => parseEnv(apiEnv, { HYPERSWEEP_MODEL_GRACE_MS: "1000" })).toThrow(/HYPERSWEEP_MODEL_GRACE_MS/);
    const dataDir = join(s.tmp, "periodic");
    const root = join(dataDir, "models");
    const atStart = plant(root, "deleted at start", { ageMs: 2 * HOUR });
    const referenced = plant(root, "referenced, never deleted", { ageMs: 2 * HOUR });
    await s.db.trial.update({ where: { id: trialIds[1] }, data: { weightsPath: `models/${referenced}/model.safetensors` } });
    const lines: string[] = [];
    const config = parseEnv(apiEnv, { DATABASE_URL: s.tdb.url, HYPERSWEEP_QUEUE_PREFIX: s.prefix, HYPERSWEEP_DATA_DIR: dataDir, HYPERSWEEP_MODEL_PRUNE_MS: "300" });
    const app = await buildApp({ db: s.db, queue: s.queue, config }, { logger: { level: "info", stream: { write: (l: string) => void lines.push(l) } } });
    try {
      await app.ready();
      await eventually(async () => !existsSync(join(root, atStart)), 10_000, 50);
      const later = plant(root, "deleted by a later pass", { ageMs: 2 * HOUR });
      await eventually(async () => !existsSync(join(root, later)) && !existsSync(join(root, `${later}.json`)), 10_000, 50);
      expect(existsSync(join(root, referenced, "model.safetensors"))).toBe(true);
      const deleted = lines.map((l) => JSON.parse(l) as { msg: string; model?: string }).filter((l) => l.msg === "deleted a stored model no trial references");
      expect(deleted.map((l) => l.model).sort()).toEqual([atStart, later].sort());
    } finally {
      await app.close();
    }
  });
});
