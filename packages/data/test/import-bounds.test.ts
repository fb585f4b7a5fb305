import { execFileSync } from "node:child_process";
import { cp, mkdir, open, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArchiveError, cleanOrphans, DatasetInvalidError, importDataset, stageDataset, synthDataset, uploadLimits, type ImportOptions, type UploadCaps } from "../src/index.ts";
import { tarPieces, writeGzip, writeZip, type TarEntry } from "./archives.ts";
import { listDir, tempDir } from "./helpers.ts";

const MiB = 1024 ** 2;
/** The API's defaults (packages/config). */
const CAPS: UploadCaps = { ratio: 4, maxEntries: 50_000, maxEntryBytes: 256 * MiB, maxTotalBytes: 8 * 1024 * MiB };

let tmp: Awaited<ReturnType<typeof tempDir>>;
let clean: string;
let files: { name: string; data: Buffer }[];
let manifest: Buffer;

beforeAll(async () => {
  tmp = await tempDir("bounds");
  clean = join(tmp.path, "clean");
  await synthDataset(clean, { images: 20, size: 16, seed: 6 });
  manifest = await readFile(join(clean, "manifest.csv"));
  const names = (await readdir(join(clean, "images"))).sort();
  files = await Promise.all(names.map(async (n) => ({ name: `images/${n}`, data: await readFile(join(clean, "images", n)) })));
});
afterAll(() => tmp?.cleanup());

/** Every file under dir, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return all.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

/** Imports with the limits the API would derive from the file's size; the error (or null). */
async function importLikeApi(file: string, root: string, extra: Partial<ImportOptions> = {}): Promise<unknown> {
  const limits = uploadLimits((await stat(file)).size, CAPS);
  return importDataset(file, { dataRoot: root, limits, maxRows: 50_000, ...extra }).then(() => null, (e: unknown) => e);
}

/** This process's resident and peak resident memory, bytes. */
async function memory(): Promise<{ rss: number; peak: number }> {
  const status = await readFile("/proc/self/status", "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)![1]) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

async function expectNothingLeft(root: string): Promise<void> {
  expect(await tree(root)).toEqual([]);
}

describe("upload limits", () => {
  it("scale with the upload's real size, under the absolute caps", () => {
    expect(uploadLimits(1 * MiB, CAPS)).toEqual({ maxEntries: 1000 + 4096, maxEntryBytes: 64 * MiB, maxTotalBytes: 64 * MiB });
    expect(uploadLimits(100 * MiB, CAPS)).toEqual({ maxEntries: 50_000, maxEntryBytes: 256 * MiB, maxTotalBytes: 400 * MiB });
    expect(uploadLimits(4096 * MiB, CAPS).maxTotalBytes).toBe(8 * 1024 * MiB);
    expect(uploadLimits(163_000, CAPS).maxEntries).toBe(1636);
  });
});

describe("importing a hostile archive", () => {
  it("writes only the files the manifest names: unreferenced entries never reach the disk (.tar.gz and .zip)", async () => {
    const src = join(tmp.path, "with-junk");
    await cp(clean, src, { recursive: true });
    await mkdir(join(src, "junk"), { recursive: true });
    await writeFile(join(src, "junk", "zeros.bin"), Buffer.alloc(4 * MiB));
    await writeFile(join(src, "images", "unlisted.png"), files[0]!.data);
    const tgz = join(tmp.path, "with-junk.tar.gz");
    await tar.c({ gzip: true, file: tgz, cwd: tmp.path }, ["with-junk"]);
    const zip = join(tmp.path, "with-junk.zip");
    execFileSync("zip", ["-qr", zip, "."], { cwd: src });
    for (const file of [tgz, zip]) {
      const root = join(tmp.path, `root-junk-${file.slice(-3)}`);
      let seen: string[] | null = null;
      // What is on disk while the images are being checked: the manifest and the listed images, nothing else.
      const onProgress: ImportOptions["onProgress"] = (p) => {
        if (p.phase === "validate" && p.done === 0) void tree(join(root, "tmp")).then((t) => (seen = t));
      };
      const r = await importDataset(file, { dataRoot: root, onProgress });
      await new Promise((res) => setTimeout(res, 50));
      const listed = files.map((f) => f.name);
      expect(seen!.filter((f) => !f.endsWith("manifests/0.csv")).map((f) => f.split("/src/")[1]).sort()).toEqual(listed);
      expect(seen!.filter((f) => f.includes("junk") || f.includes("unlisted"))).toEqual([]);
      expect(await tree(join(root, "versions", r.contentHash))).toEqual(["manifest.json", ...listed.map((f) => `images/${f}`)].sort());
    }
  });

  it("refuses a .zip whose manifest names a 900 MiB entry of zeros, from its header, leaving nothing", async () => {
    const zip = join(tmp.path, "bomb.zip");
    const size = await writeZip(zip, [{ name: "manifest.csv", data: manifest }, ...files.slice(1), { name: files[0]!.name, zeros: 900 * MiB }]);
    expect(size).toBeLessThan(1.2 * MiB);
    const root = join(tmp.path, "root-zipbomb");
    const err = await importLikeApi(zip, root);
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as Error).message).toBe(`bomb.zip: entry "${files[0]!.name}" unpacks to 900.0 MiB, more than the 64.0 MiB allowed per file for an upload of its size`);
    await expectNothingLeft(root);
  });

  it("refuses a 1 MB .tar.gz holding 1 GiB of unreferenced zeros, leaving nothing", async () => {
    const tgz = join(tmp.path, "bomb.tar.gz");
    const size = await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: manifest }, ...files.map((f) => ({ path: f.name, data: f.data })), { path: "junk/zeros.bin", zeros: 1024 * MiB }]));
    expect(size).toBeLessThan(1.2 * MiB);
    const root = join(tmp.path, "root-tgzbomb");
    const err = await importLikeApi(tgz, root);
    expect((err as Error).message).toMatch(/^bomb\.tar\.gz: entry "junk\/zeros\.bin" unpacks to 1\.0 GiB, more than the 64\.0 MiB allowed per file/);
    await expectNothingLeft(root);
  });

  it("refuses 20,000 empty entries in a 160 KB archive by their count", async () => {
    const tgz = join(tmp.path, "many.tar.gz");
    const empties: TarEntry[] = Array.from({ length: 20_000 }, (_, i) => ({ path: `e/${i}.png`, data: Buffer.alloc(0) }));
    const size = await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: manifest }, ...files.map((f) => ({ path: f.name, data: f.data })), ...empties]));
    expect(size).toBeLessThan(200_000);
    const root = join(tmp.path, "root-many");
    const err = await importLikeApi(tgz, root);
    const allowed = uploadLimits(size, CAPS).maxEntries;
    expect(allowed).toBeLessThan(5000);
    expect((err as Error).message).toBe(`many.tar.gz holds more than ${allowed} entries, the most allowed for an upload of its size`);
    await expectNothingLeft(root);
  });

  it("answers a .tar.gz that tar aborts past 1000:1 only after extraction has stopped, leaving nothing", async () => {
    const tgz = join(tmp.path, "ratio.tar.gz");
    // The listed image is 200 MiB of zeros: within these limits, so tar's own ratio check stops it mid-write.
    const pieces = tarPieces([{ path: "manifest.csv", data: manifest }, { path: files[0]!.name, zeros: 200 * MiB }, ...files.slice(1).map((f) => ({ path: f.name, data: f.data }))]);
    await writeGzip(tgz, pieces);
    for (let i = 0; i < 3; i++) {
      const root = join(tmp.path, `root-ratio-${i}`);
      const err = await importDataset(tgz, { dataRoot: root, limits: { maxEntryBytes: 1024 * MiB, maxTotalBytes: 1024 * MiB } }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ArchiveError);
      expect((err as Error).message).toMatch(/^cannot unpack ratio\.tar\.gz: max decompression ratio exceeded: 100\d\.\d+ > 1000$/);
      await expectNothingLeft(root);
    }
  });

  it("stores files from a tar without the archive's owner or special modes", async () => {
    expect(process.getuid?.()).toBe(0); // the case that matters: as root, tar would restore owners by default
    const tgz = join(tmp.path, "owned.tar.gz");
    const owned = (f: { name: string; data: Buffer }): TarEntry => ({ path: f.name, data: f.data, uid: 4242, gid: 4242, mode: 0o6777 });
    await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: manifest, uid: 4242, gid: 4242 }, ...files.map(owned)]));
    const r = await importDataset(tgz, { dataRoot: join(tmp.path, "root-owned") });
    for (const f of files) {
      const st = await stat(join(r.storagePath, "images", f.name));
      expect([st.uid, st.gid]).toEqual([0, 0]);
      expect(st.mode & 0o7000).toBe(0);
      expect(st.mode & 0o022).toBe(0);
    }
  });

  it("checks images from their headers and streams: a 400 MiB file never enters memory", async () => {
    const dir = join(tmp.path, "huge-file");
    await cp(clean, dir, { recursive: true });
    const fh = await open(join(dir, files[0]!.name), "r+");
    await fh.truncate(400 * MiB); // sparse: a real PNG header, then zeros
    await fh.close();
    await writeFile("/proc/self/clear_refs", "5"); // resets this process's peak RSS (VmHWM)
    const before = await memory();
    const err = (await importDataset(dir, { dataRoot: join(tmp.path, "root-huge") }).catch((e: unknown) => e)) as DatasetInvalidError;
    const after = await memory();
    expect(err.problems.map((p) => [p.code, p.value])).toEqual([["undecodable_image", files[0]!.name]]);
    expect(after.peak - before.rss).toBeLessThan(100 * MiB);
  });

  it("lists the first 100 problems and counts the rest", async () => {
    const dir = join(tmp.path, "many-missing");
    await mkdir(dir, { recursive: true });
    const lines = manifest.toString().trim().split("\n");
    const row = lines[1]!.split(",");
    const rows = Array.from({ length: 300 }, (_, i) => [row[0], `gone/${i}.png`, ...row.slice(2)].join(","));
    await writeFile(join(dir, "manifest.csv"), [lines[0], ...rows].join("\n"));
    const err = (await importDataset(dir, { dataRoot: join(tmp.path, "root-missing") }).catch((e: unknown) => e)) as DatasetInvalidError;
    expect(err).toBeInstanceOf(DatasetInvalidError);
    expect([err.problems.length, err.problemCount, err.issues.length]).toEqual([100, 300, 101]);
    expect(err.issues[100]).toEqual({ path: "manifest", message: "200 more problem(s) not listed (the first 100 are above)" });
  });

  it("names the archive, never a server path, when it cannot be read", async () => {
    const junk = join(tmp.path, "upload.zip");
    await writeFile(junk, Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4]), Buffer.alloc(100, 7)]));
    const err = (await importDataset(junk, { dataRoot: join(tmp.path, "root-junkzip") }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.message).toMatch(/^cannot unpack upload\.zip: /);
    expect(err.message).not.toContain(tmp.path);
  });
});

describe("staging and orphans", () => {
  it("a staged import is invisible until published, and discard leaves nothing", async () => {
    const root = join(tmp.path, "root-stage");
    const staged = await stageDataset(clean, { dataRoot: root });
    expect(await listDir(join(root, "versions"))).toEqual([]);
    await expect(staged.publish()).resolves.toEqual({ storagePath: staged.storagePath, created: true });
    await staged.discard();
    expect(await listDir(join(root, "versions"))).toEqual([staged.contentHash]);
    expect(await listDir(join(root, "tmp"))).toEqual([]);
    const rejected = await stageDataset(clean, { dataRoot: root });
    await rejected.discard();
    expect(await listDir(join(root, "tmp"))).toEqual([]);
  });

  it("removes stale temporary directories and unreferenced version directories, keeping young ones", async () => {
    const root = join(tmp.path, "root-orphans");
    const [kept, orphan, young] = ["a", "b", "c"].map((c) => c.repeat(64));
    for (const d of [`tmp/upload-old/x`, `tmp/import-young`, `versions/${kept}/images`, `versions/${orphan}/images`, `versions/${young}`, "versions/not-a-hash"]) await mkdir(join(root, d), { recursive: true });
    await writeFile(join(root, "tmp/upload-old/x/upload.bin"), "partial");
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const p of ["tmp/upload-old/x/upload.bin", "tmp/upload-old/x", "tmp/upload-old", `versions/${kept}/images`, `versions/${kept}`, `versions/${orphan}/images`, `versions/${orphan}`]) await utimes(join(root, p), old, old);
    const asked: string[][] = [];
    const removed = await cleanOrphans(root, { referenced: async (h) => (asked.push(h), new Set([kept!])) });
    expect(removed.sort()).toEqual(["tmp/upload-old", `versions/${orphan}`]);
    expect(asked.map((a) => a.sort())).toEqual([[kept, orphan, young]]);
    expect((await listDir(join(root, "versions"))).sort()).toEqual([kept, young, "not-a-hash"].sort());
    expect(await listDir(join(root, "tmp"))).toEqual(["import-young"]);
  });
});
