/**
 * Deletes what worker nodes uploaded under HYPERSWEEP_DATA_DIR/models (routes/worker-models.routes.ts) that no
 * result will ever name: stored models no trial's weights_path references (their attempt lost its lease, failed,
 * or another attempt's result was recorded instead), models whose manifest never came (a node that stopped
 * between its files and its manifest), and temporary files a crash left (`.<name>.<hex>.upload` inside a model's
 * directory, `.<id>.<hex>.json` beside the manifests). Each only once it is older than the grace period
 * (HYPERSWEEP_MODEL_GRACE_MS): an upload in flight, and a model whose result is about to be recorded, are young.
 * A model some trial references is never deleted, whatever its age.
 *
 * A model's age is that of its newest entry: its manifest, its files, its directory (which every upload touches,
 * even one of content already stored: it writes a temporary file there first) and the upload routes refresh what
 * they answer "already stored" for, so a model uploaded again by a later attempt is young again.
 */
import type { Dirent } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { referencedModelIds, type Db } from "@hypersweep/db";

const MODEL_ID = /^[0-9a-f]{64}$/;
const MANIFEST = /^([0-9a-f]{64})\.json$/;
/** A manifest being written: `.<id>.<hex>.json`, renamed into place. */
const TEMP_MANIFEST = /^\.[0-9a-f]{64}\.[0-9a-f]+\.json$/;
/** A file being uploaded: `.<name>.<hex>.upload`, linked into place. */
const TEMP_UPLOAD = /^\..+\.[0-9a-f]+\.upload$/;

export interface ModelPruneReport {
  graceMs: number;
  removed: {
    /** Stored models (manifest and files) no trial references. */
    models: number;
    /** Model directories without a manifest (an upload that never finished). */
    partial: number;
    /** Temporary files of uploads that never finished. */
    uploads: number;
    bytes: number;
    /** The ids of the models and partial models removed. */
    ids: string[];
  };
  kept: {
    /** Models a trial's result names. */
    referenced: number;
    /** Unreferenced models (or partial ones) younger than the grace period. */
    young: number;
    bytes: number;
  };
}

export interface PruneOptions {
  db: Db;
  dataDir: string;
  graceMs: number;
  log?: (msg: string, extra: Record<string, unknown>) => void;
}

const missing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === "ENOENT";
const statOrNull = (path: string) => stat(path).catch((err) => (missing(err) ? null : Promise.reject(err)));
const listOrEmpty = (dir: string): Promise<Dirent[]> => readdir(dir, { withFileTypes: true }).catch((err) => (missing(err) ? [] : Promise.reject(err)));

/**
 * One model's entries on disk as they are now: its newest mtime (an upload still streaming keeps its temporary
 * file's mtime fresh, so a long upload keeps its model young), its bytes (temporary files aside), its temporary files.
 */
async function measure(root: string, id: string): Promise<{ newest: number; bytes: number; temps: Array<{ path: string; mtimeMs: number; size: number }> } | null> {
  let newest = -Infinity;
  let bytes = 0;
  const temps: Array<{ path: string; mtimeMs: number; size: number }> = [];
  const manifest = await statOrNull(join(root, `${id}.json`));
  if (manifest) {
    newest = Math.max(newest, manifest.mtimeMs);
    bytes += manifest.size;
  }
  const dir = join(root, id);
  const d = await statOrNull(dir);
  if (d?.isDirectory()) {
    newest = Math.max(newest, d.mtimeMs);
    for (const e of await listOrEmpty(dir)) {
      const st = await statOrNull(join(dir, e.name));
      if (!st) continue;
      newest = Math.max(newest, st.mtimeMs);
      if (TEMP_UPLOAD.test(e.name)) temps.push({ path: join(dir, e.name), mtimeMs: st.mtimeMs, size: st.size });
      else bytes += st.size;
    }
  }
  return manifest || d ? { newest, bytes, temps } : null;
}

async function pruneOnce(o: PruneOptions): Promise<ModelPruneReport> {
  const root = resolve(o.dataDir, "models");
  const log = o.log ?? (() => {});
  const report: ModelPruneReport = { graceMs: o.graceMs, removed: { models: 0, partial: 0, uploads: 0, bytes: 0, ids: [] }, kept: { referenced: 0, young: 0, bytes: 0 } };
  const stale = (mtimeMs: number) => mtimeMs < Date.now() - o.graceMs;

  const ids = new Set<string>();
  const tempManifests: string[] = [];
  for (const e of await listOrEmpty(root)) {
    if (e.isDirectory() && MODEL_ID.test(e.name)) ids.add(e.name);
    else if (e.isFile() && MANIFEST.test(e.name)) ids.add(MANIFEST.exec(e.name)![1]!);
    else if (e.isFile() && TEMP_MANIFEST.test(e.name)) tempManifests.push(join(root, e.name));
  }
  for (const path of tempManifests) {
    const st = await statOrNull(path);
    if (!st || !stale(st.mtimeMs)) continue;
    await rm(path, { force: true });
    report.removed.uploads++;
    report.removed.bytes += st.size;
    log("deleted a manifest whose upload never finished", { path, bytes: st.size, mtime: new Date(st.mtimeMs).toISOString() });
  }

  // Read after the listing: a result recorded while the directory was being read is seen here.
  const referenced = await referencedModelIds(o.db);
  for (const id of [...ids].sort()) {
    // Measured right before it is judged, so an upload of this model a moment ago counts.
    const m = await measure(root, id);
    if (!m) continue;
    if (referenced.has(id) || !stale(m.newest)) {
      for (const t of m.temps.filter((x) => stale(x.mtimeMs))) {
        await rm(t.path, { force: true });
        report.removed.uploads++;
        report.removed.bytes += t.size;
        log("deleted a file whose upload never finished", { model: id, path: t.path, bytes: t.size, mtime: new Date(t.mtimeMs).toISOString() });
      }
      const young = m.temps.filter((x) => !stale(x.mtimeMs));
      report.kept.bytes += m.bytes + young.reduce((n, t) => n + t.size, 0);
      if (referenced.has(id)) report.kept.referenced++;
      else report.kept.young++;
      continue;
    }
    const manifest = join(root, `${id}.json`);
    const complete = (await statOrNull(manifest)) !== null;
    // The manifest first: the model stops being served before its files go, and a crash in between leaves a
    // directory without a manifest, which the next pass deletes.
    await rm(manifest, { force: true });
    await rm(join(root, id), { recursive: true, force: true });
    const bytes = m.bytes + m.temps.reduce((n, t) => n + t.size, 0);
    if (complete) report.removed.models++;
    else report.removed.partial++;
    report.removed.uploads += m.temps.length;
    report.removed.ids.push(id);
    report.removed.bytes += bytes;
    log(complete ? "deleted a stored model no trial references" : "deleted a model whose upload never finished (no manifest)", {
      model: id, bytes, lastWritten: new Date(m.newest).toISOString(),
    });
  }
  return report;
}

/** One pass at a time per models directory in this process (the periodic pass and an admin's may coincide). */
const passes = new Map<string, Promise<unknown>>();

export function pruneModels(o: PruneOptions): Promise<ModelPruneReport> {
  const key = resolve(o.dataDir, "models");
  const next = (passes.get(key) ?? Promise.resolve()).catch(() => {}).then(() => pruneOnce(o));
  passes.set(key, next);
  void next.finally(() => passes.get(key) === next && passes.delete(key)).catch(() => {});
  return next;
}

/** Prunes at start and every `everyMs`; answers a function that stops it. */
export function startModelPruner(o: PruneOptions & { everyMs: number; summary: (msg: string) => void }): () => void {
  const tick = async () => {
    try {
      const r = await pruneModels(o);
      const n = r.removed.models + r.removed.partial + r.removed.uploads;
      if (n > 0) {
        o.summary(`models pruned: ${r.removed.models} unreferenced, ${r.removed.partial} without a manifest, ${r.removed.uploads} unfinished upload(s), ${r.removed.bytes} bytes; kept ${r.kept.referenced} referenced, ${r.kept.young} younger than ${o.graceMs} ms`);
      }
    } catch (err) {
      o.summary(`model pruning skipped: ${(err as Error).message.split("\n")[0]}`);
    }
  };
  const timer = setInterval(() => void tick(), o.everyMs);
  timer.unref();
  void tick();
  return () => clearInterval(timer);
}
