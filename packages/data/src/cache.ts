/**
 * The preprocessing cache: every image of a dataset version decoded once, centre-cropped to a square, resized
 * to S×S, three channels, stored as uint8.
 *
 * Layout under the cache root (one directory setting, HYPERSWEEP_CACHE_DIR; may be a volume shared by nodes):
 *   <contentHash>/<S>/images.u8      count × S × S × 3 bytes, row-major HWC, in manifest.json row order
 *   <contentHash>/<S>/index.json     { format, contentHash, size, count, bytesPerImage, fileNames, buildMs, sha256 }
 *   <contentHash>/<S>/stats/<k>.json per-channel mean/std over one scenario's training rows (memoised)
 *   <contentHash>/<S>.lock           present while a process builds it
 * Invariant: a <S> directory is complete and immutable: it appears by one rename of a finished temporary
 * directory, and index.json is written last inside it. `sha256` (of images.u8, the integrity hash a node that
 * downloads the cache checks) is computed when the cache is built; an index written before it existed gets it
 * from cacheIntegrity(), which replaces index.json by one rename (its other fields unchanged).
 */
import { createHash, randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { CacheError } from "./errors.ts";
import { runLimited } from "./util.ts";
import { buildOnce, type BuildOnceOptions } from "./lock.ts";
import type { VersionManifest } from "./schema.ts";

export interface CacheIndex {
  format: 1;
  contentHash: string;
  size: number;
  count: number;
  bytesPerImage: number;
  fileNames: string[];
  buildMs: number;
  /** sha256 (hex) of images.u8; absent only in an index built before it was recorded (see cacheIntegrity). */
  sha256?: string;
}

export interface CacheHandle extends CacheIndex {
  /** The <contentHash>/<S> directory. */
  dir: string;
  /** The uint8 data file. */
  dataPath: string;
  /** true when this call built the cache (false: it existed, or another process built it while we waited). */
  built: boolean;
}

export interface NormStats {
  /** Per-channel mean and standard deviation, in pixel units (0–255). */
  mean: [number, number, number];
  std: [number, number, number];
  /** Training images the statistics were computed over. */
  count: number;
}

export interface CacheOptions extends BuildOnceOptions {
  /** Images decoded at once. @defaultValue os.availableParallelism() */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function readVersionManifest(versionDir: string): Promise<VersionManifest> {
  const text = await readFile(join(versionDir, "manifest.json"), "utf8").catch((err: unknown) => {
    throw new CacheError(`${versionDir} is not a dataset version: no manifest.json`, { cause: err });
  });
  return JSON.parse(text) as VersionManifest;
}

/** Returns the cache for (version, S), building it first if no process has. Safe under concurrency. */
export async function ensureCache(versionDir: string, imageSize: number, cacheRoot: string, opts: CacheOptions = {}): Promise<CacheHandle> {
  if (!Number.isInteger(imageSize) || imageSize < 1) throw new RangeError(`imageSize must be a positive integer, got ${imageSize}`);
  const manifest = await readVersionManifest(versionDir);
  const base = join(cacheRoot, manifest.contentHash);
  const dir = join(base, String(imageSize));
  await mkdir(base, { recursive: true });
  const ready = () => readIndex(dir);
  const { value, built } = await buildOnce(join(base, `${imageSize}.lock`), ready, () => build(versionDir, manifest, imageSize, base, opts), opts);
  return { ...value, dir, dataPath: join(dir, "images.u8"), built };
}

export async function readIndex(dir: string): Promise<CacheIndex | null> {
  try {
    return JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as CacheIndex;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CacheError(`unreadable cache index in ${dir}`, { cause: err });
  }
}

async function build(versionDir: string, manifest: VersionManifest, size: number, base: string, opts: CacheOptions): Promise<CacheIndex> {
  const started = Date.now();
  const tmp = join(base, `.${size}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  const bytesPerImage = size * size * 3;
  await mkdir(tmp, { recursive: true });
  try {
    const fh = await open(join(tmp, "images.u8"), "w");
    try {
      let done = 0;
      const items = manifest.rows.map((r, i) => ({ i, path: join(versionDir, "images", r.fileName) }));
      await runLimited(items, opts.concurrency ?? availableParallelism(), async ({ i, path }) => {
        const pixels = await decodeSquare(path, size);
        // Positional writes: images finish out of order but land at their own offsets.
        await fh.write(pixels, 0, bytesPerImage, i * bytesPerImage);
        opts.onProgress?.(++done, items.length);
      });
      await fh.sync();
    } finally {
      await fh.close();
    }
    const index: CacheIndex = {
      format: 1,
      contentHash: manifest.contentHash,
      size,
      count: manifest.rows.length,
      bytesPerImage,
      fileNames: manifest.rows.map((r) => r.fileName),
      buildMs: Date.now() - started,
      sha256: await sha256File(join(tmp, "images.u8")),
    };
    await writeFile(join(tmp, "index.json"), JSON.stringify(index));
    await rename(tmp, join(base, String(size))).catch(async (err: NodeJS.ErrnoException) => {
      // Another builder (one that took over a lock it judged stale) published first: keep theirs.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
    return index;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** sha256 (hex) of a file, streamed (memory stays bounded whatever its size). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * The cache's index with its integrity hash: an index that lacks `sha256` (built before it was recorded) gets it
 * now, written back by one atomic rename of a new index.json.
 */
export async function cacheIntegrity(handle: Pick<CacheHandle, "dir">): Promise<CacheIndex & { sha256: string }> {
  const index = await readIndex(handle.dir);
  if (!index) throw new CacheError(`no cache index in ${handle.dir}`);
  if (index.sha256) return index as CacheIndex & { sha256: string };
  const withHash = { ...index, sha256: await sha256File(join(handle.dir, "images.u8")) };
  const tmp = join(handle.dir, `.index.json.${process.pid}-${randomBytes(4).toString("hex")}`);
  await writeFile(tmp, JSON.stringify(withHash));
  await rename(tmp, join(handle.dir, "index.json"));
  return withHash;
}

/**
 * Decodes one image to S×S×3 uint8: EXIF orientation applied, transparency flattened onto black, grey and
 * palette images expanded to three channels, the centred square crop resized to S×S.
 */
export async function decodeSquare(path: string, size: number): Promise<Buffer> {
  const { data, info } = await sharp(path, { failOn: "none" })
    .rotate()
    .flatten({ background: "#000000" })
    .resize(size, size, { fit: "cover", position: "centre" })
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return data;
  const out = Buffer.alloc(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * info.channels + (info.channels < 3 ? 0 : c)]!;
  }
  return out;
}

/**
 * Per-channel mean/std over the given cache rows (a scenario's training rows), memoised in the cache's stats/
 * directory under a key derived from the rows' file names, so every trial of every sweep on the same scenario
 * reads the same numbers.
 */
export async function normStats(handle: CacheHandle, indices: readonly number[]): Promise<NormStats> {
  if (indices.length === 0) throw new CacheError("normalisation statistics need at least one training image");
  const key = createHash("sha256").update(JSON.stringify([...indices].sort((a, b) => a - b).map((i) => handle.fileNames[i]))).digest("hex").slice(0, 24);
  const file = join(handle.dir, "stats", `${key}.json`);
  const memo = await readFile(file, "utf8").then((t) => JSON.parse(t) as NormStats, () => null);
  if (memo) return memo;
  const stats = await computeStats(handle, indices);
  await mkdir(join(handle.dir, "stats"), { recursive: true });
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, JSON.stringify(stats));
  await rename(tmp, file);
  return stats;
}

async function computeStats(handle: CacheHandle, indices: readonly number[]): Promise<NormStats> {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  const buf = Buffer.alloc(handle.bytesPerImage);
  const fh = await open(handle.dataPath, "r");
  try {
    for (const i of indices) {
      await fh.read(buf, 0, handle.bytesPerImage, i * handle.bytesPerImage);
      let s0 = 0, s1 = 0, s2 = 0, q0 = 0, q1 = 0, q2 = 0;
      for (let p = 0; p < buf.length; p += 3) {
        const a = buf[p]!, b = buf[p + 1]!, c = buf[p + 2]!;
        s0 += a; s1 += b; s2 += c;
        q0 += a * a; q1 += b * b; q2 += c * c;
      }
      sum[0]! += s0; sum[1]! += s1; sum[2]! += s2;
      sq[0]! += q0; sq[1]! += q1; sq[2]! += q2;
    }
  } finally {
    await fh.close();
  }
  const n = indices.length * handle.size * handle.size;
  const mean = sum.map((s) => s / n) as NormStats["mean"];
  // A constant channel would divide by zero; 1 leaves it centred and unscaled.
  const std = sq.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c]! ** 2)) || 1) as NormStats["std"];
  return { mean, std, count: indices.length };
}
