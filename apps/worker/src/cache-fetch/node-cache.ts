/**
 * A node's own copy of what its trainers read, fetched from the API when the node shares no filesystem with it.
 *
 * Layout under the node's cache root (HYPERSWEEP_CACHE_DIR), the same as the preprocessing cache's, so the
 * trainer reads it unchanged (`datasetDir` = <root>/<contentHash>, `cacheDir` = <root>):
 *   <contentHash>/manifest.json          the version's manifest (checked: its rows hash to contentHash)
 *   <contentHash>/<S>/images.u8, index.json, stats/   as the API built it (images.u8 checked against index.sha256)
 *   <contentHash>/.<S>.download/         a download in progress (resumed by the next holder of the lock)
 *   <contentHash>/<S>.lock               the cache's build-once lock: one download per node, whoever asks
 *   weights/<sha256>.safetensors         pretrained weights (checked against their name)
 *   models/<id>/<files>, models/<id>/.manifest   a stored final model (each file checked against its manifest,
 *                                        the manifest against the model's id)
 *   <entry>.pins/<host>-<pid>-<n>        an entry in use by a trainer: never evicted while its process lives
 * Entries appear by one rename of a complete, verified download. Past `maxBytes`, the least recently used
 * entries that no trainer uses are deleted (an entry is used when a trainer is started on it).
 */
import { hostname } from "node:os";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { modelIdOf, StoredModelManifest } from "@hypersweep/core";
import { buildOnce, hashVersion, readIndex, type CacheIndex, type VersionManifest } from "@hypersweep/data";
import { CacheFetchError, WorkerApi } from "./download.ts";

export interface NodeCacheOptions {
  root: string;
  maxBytes: number;
  api: WorkerApi;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** A pinned entry: its path for the trainer, and release() when the trainer is done with it. */
export interface Pinned {
  path: string;
  release(): Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HOST = hostname();
let pinSeq = 0;

async function treeBytes(path: string): Promise<number> {
  const st = await stat(path).catch(() => null);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await readdir(path)) n += await treeBytes(join(path, e));
  return n;
}

/** A pin is live while its process runs (pins of other hosts: always, this node cannot tell). */
function pinLive(name: string): boolean {
  const m = /^(.*)-(\d+)-\d+$/.exec(name);
  if (!m || m[1] !== HOST) return true;
  try {
    process.kill(Number(m[2]), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function livePins(entry: string): Promise<number> {
  const names = await readdir(`${entry}.pins`).catch(() => [] as string[]);
  return names.filter(pinLive).length;
}

export class NodeCache {
  /** Downloads this process made, by kind (for logs and tests). */
  readonly downloads = { manifests: 0, caches: 0, weights: 0, models: 0, ranged: 0 };

  constructor(readonly opts: NodeCacheOptions) {}

  private get log() {
    return this.opts.log ?? (() => {});
  }

  private async pin(entry: string): Promise<Pinned> {
    const pins = `${entry}.pins`;
    await mkdir(pins, { recursive: true });
    const file = join(pins, `${HOST}-${process.pid}-${++pinSeq}`);
    await writeFile(file, "");
    const now = new Date();
    await utimes(entry, now, now).catch(() => {});
    return { path: entry, release: () => rm(file, { force: true }) };
  }

  /**
   * The version's manifest and its preprocessed images at `size`, complete and verified under <root>/<hash>,
   * pinned until release(). Downloads what is missing, once per node however many slots ask at once.
   */
  async version(contentHash: string, size: number, signal?: AbortSignal): Promise<Pinned & { datasetDir: string }> {
    if (!HEX64.test(contentHash)) throw new CacheFetchError(`not a content hash: ${JSON.stringify(contentHash)}`);
    const base = join(this.opts.root, contentHash);
    await mkdir(base, { recursive: true });
    const entry = join(base, String(size));
    // Pinned before it is looked at: an eviction elsewhere on the node then leaves it alone.
    const pinned = await this.pin(entry);
    try {
      await buildOnce(join(base, "manifest.lock"), () => this.readManifest(base, contentHash), () => this.fetchManifest(base, contentHash, signal));
      await buildOnce(join(base, `${size}.lock`), () => readIndex(entry), () => this.fetchCache(base, contentHash, size, signal));
      const now = new Date();
      await utimes(entry, now, now).catch(() => {});
      return { ...pinned, datasetDir: base };
    } catch (err) {
      await pinned.release();
      throw err;
    }
  }

  /** The manifest, if a verified download published it. */
  private async readManifest(base: string, _contentHash: string): Promise<VersionManifest | null> {
    const text = await readFile(join(base, "manifest.json"), "utf8").catch(() => null);
    return text === null ? null : (JSON.parse(text) as VersionManifest);
  }

  private async fetchManifest(base: string, contentHash: string, signal?: AbortSignal): Promise<VersionManifest> {
    const tmp = join(base, `.manifest.json.download`);
    await this.opts.api.file(`/v1/worker/datasets/${contentHash}/manifest.json`, tmp, null, null, signal, contentHash).catch(async (err) => {
      await rm(tmp, { force: true });
      throw err;
    });
    const manifest = JSON.parse(await readFile(tmp, "utf8")) as VersionManifest;
    // Content-addressed: the rows must hash to the version's content hash.
    if (manifest.contentHash !== contentHash || hashVersion(manifest.rows) !== contentHash) {
      await rm(tmp, { force: true });
      throw new CacheFetchError(`the manifest the API sent for ${contentHash} does not hash to it: refused`);
    }
    await rename(tmp, join(base, "manifest.json"));
    this.downloads.manifests++;
    return manifest;
  }

  private async fetchCache(base: string, contentHash: string, size: number, signal?: AbortSignal): Promise<CacheIndex> {
    const path = `/v1/worker/cache/${contentHash}/${size}`;
    const index = await this.opts.api.json<CacheIndex & { sha256?: string }>(path, signal);
    const manifest = JSON.parse(await readFile(join(base, "manifest.json"), "utf8")) as VersionManifest;
    const bytes = index.count * index.bytesPerImage;
    if (!index.sha256 || !HEX64.test(index.sha256) || index.contentHash !== contentHash || index.size !== size || index.bytesPerImage !== size * size * 3
      || index.count !== manifest.rows.length || index.fileNames?.length !== index.count || index.fileNames.some((f, i) => f !== manifest.rows[i]!.fileName)) {
      throw new CacheFetchError(`the cache index the API sent for ${contentHash}/${size} does not match the version's manifest: refused`);
    }
    await this.makeRoom(bytes);
    const partial = join(base, `.${size}.download`);
    await mkdir(partial, { recursive: true });
    const { ranged } = await this.opts.api.file(`${path}/images.u8`, join(partial, "images.u8"), index.sha256, bytes, signal);
    this.downloads.ranged += ranged;
    await writeFile(join(partial, "index.json"), JSON.stringify(index));
    await rename(partial, join(base, String(size)));
    this.downloads.caches++;
    this.log("cache fetched from the API", { contentHash, size, bytes, resumed: ranged });
    await this.makeRoom(0);
    return index;
  }

  /** Pretrained weights by their sha256, complete and verified, pinned until release(). */
  async weights(sha256: string, signal?: AbortSignal): Promise<Pinned> {
    if (!HEX64.test(sha256)) throw new CacheFetchError(`not a sha256: ${JSON.stringify(sha256)}`);
    const dir = join(this.opts.root, "weights");
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${sha256}.safetensors`);
    const pinned = await this.pin(file);
    try {
      await buildOnce(join(dir, `${sha256}.lock`), () => stat(file).then(() => file, () => null), async () => {
        const tmp = join(dir, `.${sha256}.download`);
        const { ranged } = await this.opts.api.file(`/v1/worker/weights/${sha256}`, tmp, sha256, null, signal);
        this.downloads.ranged += ranged;
        await rename(tmp, file);
        this.downloads.weights++;
        await this.makeRoom(0);
        return file;
      });
      return pinned;
    } catch (err) {
      await pinned.release();
      throw err;
    }
  }

  /** A stored final model by its id, every file complete and verified, pinned until release(); `path`: its directory. */
  async model(modelId: string, signal?: AbortSignal): Promise<Pinned & { manifest: StoredModelManifest }> {
    if (!HEX64.test(modelId)) throw new CacheFetchError(`not a model id: ${JSON.stringify(modelId)}`);
    const dir = join(this.opts.root, "models");
    await mkdir(dir, { recursive: true });
    const entry = join(dir, modelId);
    const pinned = await this.pin(entry);
    const read = () => readFile(join(entry, ".manifest"), "utf8").then((t) => StoredModelManifest.parse(JSON.parse(t)), () => null);
    try {
      const { value: manifest } = await buildOnce(join(dir, `${modelId}.lock`), read, async () => {
        const m = StoredModelManifest.parse(await this.opts.api.json(`/v1/worker/models/${modelId}`, signal));
        if (modelIdOf(m) !== modelId) throw new CacheFetchError(`the manifest the API sent for model ${modelId} hashes to ${modelIdOf(m)}: refused`);
        await this.makeRoom(m.files.reduce((n, f) => n + f.bytes, 0));
        const partial = join(dir, `.${modelId}.download`);
        await mkdir(partial, { recursive: true });
        for (const f of m.files) {
          const { ranged } = await this.opts.api.file(`/v1/worker/models/${modelId}/${f.name}`, join(partial, f.name), f.sha256, f.bytes, signal);
          this.downloads.ranged += ranged;
        }
        await writeFile(join(partial, ".manifest"), JSON.stringify(m));
        await rm(entry, { recursive: true, force: true });
        await rename(partial, entry);
        this.downloads.models++;
        this.log("model fetched from the API", { modelId, files: m.files.length });
        await this.makeRoom(0);
        return m;
      });
      const now = new Date();
      await utimes(entry, now, now).catch(() => {});
      return { ...pinned, manifest };
    } catch (err) {
      await pinned.release();
      throw err;
    }
  }

  /** Every complete entry (cache sizes and weights) with its size and last use. */
  private async entries(): Promise<Array<{ path: string; bytes: number; usedAt: number; base?: string }>> {
    const root = this.opts.root;
    const out: Array<{ path: string; bytes: number; usedAt: number; base?: string }> = [];
    for (const name of await readdir(root).catch(() => [] as string[])) {
      if (HEX64.test(name)) {
        const base = join(root, name);
        for (const s of await readdir(base).catch(() => [] as string[])) {
          if (!/^\d+$/.test(s)) continue;
          const path = join(base, s);
          const st = await stat(path).catch(() => null);
          if (st?.isDirectory()) out.push({ path, bytes: await treeBytes(path), usedAt: st.mtimeMs, base });
        }
      } else if (name === "models") {
        for (const m of await readdir(join(root, name)).catch(() => [] as string[])) {
          if (!HEX64.test(m)) continue;
          const path = join(root, name, m);
          const st = await stat(path).catch(() => null);
          if (st?.isDirectory()) out.push({ path, bytes: await treeBytes(path), usedAt: st.mtimeMs });
        }
      } else if (name === "weights") {
        for (const f of await readdir(join(root, name)).catch(() => [] as string[])) {
          if (!/^[0-9a-f]{64}\.safetensors$/.test(f)) continue;
          const path = join(root, name, f);
          const st = await stat(path).catch(() => null);
          if (st) out.push({ path, bytes: st.size, usedAt: st.mtimeMs });
        }
      }
    }
    return out;
  }

  /** Bytes the node's cache holds (complete entries, manifests and downloads in progress). */
  async usedBytes(): Promise<number> {
    return treeBytes(this.opts.root);
  }

  /**
   * Deletes least recently used entries that no live trainer has pinned until `incoming` more bytes fit under
   * maxBytes. What is pinned stays, even past the bound (the log says so).
   */
  async makeRoom(incoming: number): Promise<string[]> {
    const evicted: string[] = [];
    let used = await this.usedBytes();
    if (used + incoming <= this.opts.maxBytes) return evicted;
    const candidates = (await this.entries()).sort((a, b) => a.usedAt - b.usedAt);
    for (const c of candidates) {
      if (used + incoming <= this.opts.maxBytes) break;
      if ((await livePins(c.path)) > 0) continue;
      // Moved aside first, then checked again: a trainer that pinned it meanwhile gets it back.
      const aside = join(this.opts.root, `.evicted-${process.pid}-${Date.now()}-${evicted.length}`);
      if (!(await rename(c.path, aside).then(() => true, () => false))) continue;
      if ((await livePins(c.path)) > 0) {
        await rename(aside, c.path).catch(() => {});
        continue;
      }
      await rm(aside, { recursive: true, force: true });
      await rm(`${c.path}.pins`, { recursive: true, force: true });
      used -= c.bytes;
      evicted.push(c.path);
      if (c.base && !(await readdir(c.base)).some((n) => /^\d+$/.test(n) || n.endsWith(".lock") || n.endsWith(".pins") || n.startsWith("."))) {
        used -= await treeBytes(c.base);
        await rm(c.base, { recursive: true, force: true });
      }
    }
    if (evicted.length) this.log("evicted from the node's cache", { evicted: evicted.length, usedBytes: used, maxBytes: this.opts.maxBytes });
    if (used + incoming > this.opts.maxBytes) this.log("the node's cache stays over its bound: every other entry is in use", { usedBytes: used, incoming, maxBytes: this.opts.maxBytes });
    return evicted;
  }
}
