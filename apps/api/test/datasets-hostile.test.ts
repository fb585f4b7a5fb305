/**
 * Hostile uploads against the API running in its own process (so its memory can be measured): each is refused
 * with a 4xx naming the reason, leaves nothing under the data directory, and the bombs stay bounded in memory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, createTeam, type Db } from "@hypersweep/db";
import { synthDataset } from "@hypersweep/data";
import { importViaApi } from "../../cli/src/commands/datasets.ts";
import { ApiError } from "../../cli/src/client.ts";
import { createTestDatabase, testQueuePrefix, type TestDatabase } from "../../../test/helpers/test-db.ts";
import { REDIS_URL } from "../../../test/helpers/pg-admin.ts";
import { tarPieces, writeGzip, writeZip } from "../../../packages/data/test/archives.ts";
import { tempDir } from "../../../packages/data/test/helpers.ts";

const ROOT = join(import.meta.dirname, "../../..");
const MiB = 1024 ** 2;

/** Files under dir (recursive, relative), sorted. */
async function files(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return all.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

/** Resident and peak resident memory of a process, bytes (Linux /proc). */
async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)![1]) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

describe("hostile uploads (the API in a child process)", () => {
  let tdb: TestDatabase;
  let db: Db;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let api: ChildProcess;
  let url: string;
  let key: string;
  let manifest: Buffer;
  let images: { name: string; data: Buffer }[];
  const dataDir = () => join(tmp.path, "data");
  const figures: string[] = [];

  beforeAll(async () => {
    tmp = await tempDir("hostile");
    tdb = await createTestDatabase("apihostile");
    db = createDb(tdb.url, { poolSize: 2 });
    key = (await createTeam(db, "team-h")).apiKey;
    const src = join(tmp.path, "chest");
    await synthDataset(src, { images: 12, size: 16, seed: 2 });
    manifest = await readFile(join(src, "manifest.csv"));
    const names = (await readdir(join(src, "images"))).sort();
    images = await Promise.all(names.map(async (n) => ({ name: `images/${n}`, data: await readFile(join(src, "images", n)) })));
    api = spawn(process.execPath, ["--import", "tsx", join(ROOT, "apps/api/src/main.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: tdb.url,
        REDIS_URL,
        HYPERSWEEP_QUEUE_PREFIX: testQueuePrefix("hostile"),
        HYPERSWEEP_DATA_DIR: dataDir(),
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      api.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      api.once("exit", (code) => reject(new Error(`the API exited (${code}): ${out.slice(-500)}`)));
    });
  }, 60_000);
  afterAll(async () => {
    api?.kill("SIGKILL");
    await db?.$disconnect();
    await tdb?.drop();
    await tmp?.cleanup();
    if (figures.length) console.info(figures.join("\n"));
  });

  const upload = (file: string, name = "hostile") => importViaApi(file, { url, apiKey: key, progress: false, name }).then(() => null, (e: unknown) => e as ApiError);

  /** Sends an archive, expecting a 4xx; returns the error with the API's peak memory growth and the time taken. */
  async function refused(file: string, name?: string) {
    await writeFile(`/proc/${api.pid}/clear_refs`, "5"); // resets VmHWM, the peak
    const before = await memory(api.pid!);
    const t0 = performance.now();
    const err = await upload(file, name);
    const ms = performance.now() - t0;
    const after = await memory(api.pid!);
    expect(err).toBeInstanceOf(ApiError);
    expect(err!.status).toBeGreaterThanOrEqual(400);
    expect(err!.status).toBeLessThan(500);
    expect(await files(dataDir())).toEqual([]);
    expect(err!.message).not.toContain(tmp.path);
    return { err: err!, growth: after.peak - before.rss, ms };
  }

  it("refuses a 0.9 MB zip whose manifest names 900 MiB of zeros, twice, with RSS growth under 300 MiB", async () => {
    const zip = join(tmp.path, "bomb.zip");
    const size = await writeZip(zip, [{ name: "manifest.csv", data: manifest }, ...images.slice(1), { name: images[0]!.name, zeros: 900 * MiB }]);
    for (let i = 0; i < 2; i++) {
      const { err, growth, ms } = await refused(zip);
      expect([err.status, err.issues[0]?.path]).toEqual([400, "file"]);
      expect(err.message).toBe(`upload.zip: entry "${images[0]!.name}" unpacks to 900.0 MiB, more than the 64.0 MiB allowed per file for an upload of its size`);
      expect(growth).toBeLessThan(300 * MiB);
      figures.push(`zip bomb (${(size / MiB).toFixed(2)} MiB → 900 MiB), send ${i + 1}: 400 in ${ms.toFixed(0)} ms, API peak RSS growth ${(growth / MiB).toFixed(1)} MiB`);
    }
  });

  it("refuses a 1 MB tar.gz holding 1 GiB of unreferenced zeros, writing nothing", async () => {
    const tgz = join(tmp.path, "bomb.tar.gz");
    const size = await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: manifest }, ...images.map((f) => ({ path: f.name, data: f.data })), { path: "junk/zeros.bin", zeros: 1024 * MiB }]));
    const { err, growth, ms } = await refused(tgz);
    expect(err.status).toBe(400);
    expect(err.message).toBe('upload.tar.gz: entry "junk/zeros.bin" unpacks to 1.0 GiB, more than the 64.0 MiB allowed per file for an upload of its size');
    figures.push(`tar.gz bomb (${(size / MiB).toFixed(2)} MiB → 1 GiB unreferenced): 400 in ${ms.toFixed(0)} ms, API peak RSS growth ${(growth / MiB).toFixed(1)} MiB`);
  });

  it("refuses 20,000 empty entries by their count", async () => {
    const tgz = join(tmp.path, "many.tar.gz");
    const empties = Array.from({ length: 20_000 }, (_, i) => ({ path: `e/${i}.png`, data: Buffer.alloc(0) }));
    const size = await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: manifest }, ...images.map((f) => ({ path: f.name, data: f.data })), ...empties]));
    const { err, ms } = await refused(tgz);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^upload\.tar\.gz holds more than \d{4} entries, the most allowed for an upload of its size$/);
    figures.push(`20,000 empty entries (${(size / 1024).toFixed(0)} KiB): 400 in ${ms.toFixed(0)} ms`);
  });

  it("refuses a 100,000-row manifest with a short answer", async () => {
    const lines = manifest.toString().trim().split("\n");
    const rows = Array.from({ length: 100_000 }, (_, i) => lines[1 + (i % (lines.length - 1))]!.replace(/images\/[^,]+/, `images/r${i}.png`));
    const tgz = join(tmp.path, "rows.tar.gz");
    await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: Buffer.from([lines[0], ...rows].join("\n")) }]));
    const res = await fetch(new URL("/v1/datasets", url), { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form(await readFile(tgz), "rows.tar.gz") });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text.length).toBeLessThan(2000);
    expect(JSON.parse(text)).toMatchObject({ error: "DATASET_INVALID", issues: [{ path: "manifest", message: "manifest_too_large: expected at most 50000 image rows in manifest.csv (the most allowed)" }] });
    expect(await files(dataDir())).toEqual([]);
  });

  it("refuses a bad dataset name before storing anything", async () => {
    const tgz = join(tmp.path, "ok.tar.gz");
    await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: manifest }, ...images.map((f) => ({ path: f.name, data: f.data }))]));
    const { err } = await refused(tgz, "../../evil");
    expect([err.status, err.issues[0]?.path]).toEqual([400, "name"]);
    expect(await db.dataset.count()).toBe(0);
  });

  it("refuses a NUL byte in a manifest cell and a duplicated column, naming row and column", async () => {
    const lines = manifest.toString().trim().split("\n");
    const nul = [...lines];
    nul[3] = nul[3]!.replace(/,([^,]*)$/, ",\u0000$1");
    const tgz = join(tmp.path, "nul.tar.gz");
    await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: Buffer.from(nul.join("\n")) }, ...images.map((f) => ({ path: f.name, data: f.data }))]));
    const a = (await refused(tgz)).err;
    expect([a.status, a.code, a.issues.map((i) => i.path)]).toEqual([400, "DATASET_INVALID", ["row 4.suitable"]]);
    const dup = lines.map((l, i) => `${l},${i === 0 ? "patient_id" : "P0"}`);
    await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: Buffer.from(dup.join("\n")) }, ...images.map((f) => ({ path: f.name, data: f.data }))]));
    const b = (await refused(tgz)).err;
    expect([b.status, b.code, b.issues.map((i) => i.path)]).toEqual([400, "DATASET_INVALID", ["row 1.patient_id"]]);
    expect(b.issues[0]!.message).toMatch(/^duplicate_column: /);
  });

  it("answers malformed multipart with 400, not 500", async () => {
    const post = (contentType: string, body: string) =>
      fetch(new URL("/v1/datasets", url), { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": contentType }, body }).then(async (r) => [r.status, ((await r.json()) as { error: string }).error]);
    expect(await post("multipart/form-data", "--x\r\n\r\nhello")).toEqual([400, "INVALID"]);
    expect(await post("multipart/form-data; boundary=abc", "garbage, not a multipart body at all")).toEqual([400, "INVALID"]);
    expect(await post("multipart/form-data; boundary=abc", '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n\r\nPK\u0003\u0004 cut short')).toEqual([400, "INVALID"]);
    expect(await files(dataDir())).toEqual([]);
    expect(api.exitCode).toBeNull();
  });
});

/** A multipart body with one file part. */
function form(data: Buffer, filename: string): FormData {
  const f = new FormData();
  f.set("file", new Blob([new Uint8Array(data)]), filename);
  return f;
}
