import { execFile } from "node:child_process";
import { readFile, utimes, writeFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeSquare, ensureCache, importDataset, synthDataset, type ImportResult } from "../src/index.ts";
import { listDir, tempDir } from "./helpers.ts";

const run = promisify(execFile);
let tmp: Awaited<ReturnType<typeof tempDir>>;
let version: ImportResult;

beforeAll(async () => {
  tmp = await tempDir("cache");
  await synthDataset(join(tmp.path, "src"), { images: 40, size: 40, seed: 2 });
  version = await importDataset(join(tmp.path, "src"), { dataRoot: join(tmp.path, "data") });
});
afterAll(() => tmp?.cleanup());

describe("ensureCache", () => {
  it("builds once for concurrent callers, stores count × S × S × 3 bytes, and is reused afterwards", async () => {
    const root = join(tmp.path, "cache-a");
    const [a, b, c] = await Promise.all([16, 16, 16].map((s) => ensureCache(version.storagePath, s, root, { pollMs: 10 })));
    expect([a, b, c].filter((h) => h!.built)).toHaveLength(1);
    expect(new Set([a!.dir, b!.dir, c!.dir]).size).toBe(1);
    expect((await stat(a!.dataPath)).size).toBe(40 * 16 * 16 * 3);
    expect(a!.fileNames).toEqual(version.rows.map((r) => r.fileName));
    const again = await ensureCache(version.storagePath, 16, root);
    expect(again.built).toBe(false);
    // Only the finished directory remains: no lock, no temporary directory.
    expect(await listDir(join(root, version.contentHash))).toEqual(["16"]);
  });

  it("builds once when two processes want it at the same time", async () => {
    const root = join(tmp.path, "cache-b");
    const child = fileURLToPath(new URL("./cache-child.ts", import.meta.url));
    const spawn = () => run(process.execPath, ["--import", "tsx", child, version.storagePath, "24", root], { cwd: process.cwd() });
    const outs = await Promise.all([spawn(), spawn()]);
    const results = outs.map((o) => JSON.parse(o.stdout) as { built: boolean; dir: string });
    expect(results.filter((r) => r.built)).toHaveLength(1);
    expect(results[0]!.dir).toBe(results[1]!.dir);
    expect((await stat(join(results[0]!.dir, "images.u8"))).size).toBe(40 * 24 * 24 * 3);
    expect(await listDir(join(root, version.contentHash))).toEqual(["24"]);
  }, 60_000);

  it("takes over a lock left by a builder that died", async () => {
    const root = join(tmp.path, "cache-c");
    await ensureCache(version.storagePath, 8, root); // creates the version directory
    const lock = join(root, version.contentHash, "12.lock");
    await writeFile(lock, "{}");
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const h = await ensureCache(version.storagePath, 12, root, { staleMs: 1_000, pollMs: 10 });
    expect(h.built).toBe(true);
    expect((await listDir(join(root, version.contentHash))).sort()).toEqual(["12", "8"]);
  });

  it("is the same bytes whoever builds it", async () => {
    const a = await ensureCache(version.storagePath, 16, join(tmp.path, "cache-d"));
    const b = await ensureCache(version.storagePath, 16, join(tmp.path, "cache-a"));
    expect(Buffer.compare(await readFile(a.dataPath), await readFile(b.dataPath))).toBe(0);
  });
});

describe("decodeSquare", () => {
  const file = (name: string) => join(tmp.path, name);

  it("honours EXIF orientation", async () => {
    // 40×20: top half white, bottom half black. Orientation 6 displays it turned 90° clockwise: white on the right.
    const raw = Buffer.alloc(40 * 20 * 3);
    raw.fill(255, 0, 40 * 10 * 3);
    await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toFile(file("exif.jpg"));
    const px = await decodeSquare(file("exif.jpg"), 8);
    const at = (x: number, y: number) => px[(y * 8 + x) * 3]!;
    expect(at(0, 4)).toBeLessThan(40);
    expect(at(7, 4)).toBeGreaterThan(215);
  });

  it("crops the centred square before resizing", async () => {
    // 30×10: black sides, white 10×10 centre. The centred square is all white.
    const raw = Buffer.alloc(30 * 10);
    for (let y = 0; y < 10; y++) raw.fill(255, y * 30 + 10, y * 30 + 20);
    await sharp(raw, { raw: { width: 30, height: 10, channels: 1 } }).png().toFile(file("wide.png"));
    const px = await decodeSquare(file("wide.png"), 6);
    expect(Math.min(...px)).toBeGreaterThan(240);
  });

  it("expands grey and palette images to three equal channels", async () => {
    const grey = Buffer.alloc(12 * 12, 0);
    for (let i = 0; i < grey.length; i++) grey[i] = (i * 7) % 256;
    await sharp(grey, { raw: { width: 12, height: 12, channels: 1 } }).png().toFile(file("grey.png"));
    await sharp(grey, { raw: { width: 12, height: 12, channels: 1 } }).gif().toFile(file("pal.gif"));
    for (const f of ["grey.png", "pal.gif"]) {
      const px = await decodeSquare(file(f), 12);
      expect(px.length).toBe(12 * 12 * 3);
      for (let p = 0; p < px.length; p += 3) expect([px[p + 1], px[p + 2]]).toEqual([px[p], px[p]]);
      expect(new Set(px).size).toBeGreaterThan(10);
    }
  });
});
