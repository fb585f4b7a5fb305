/**
 * What an interrupted import leaves behind, removed at API start: entries under <dataRoot>/tmp (uploads and
 * staged imports), and version directories that no dataset version row references (a crash between the rename
 * into versions/ and the commit of the row). Only entries untouched for `graceMs` go: another API process
 * sharing the data directory may be working in a younger one.
 */
import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

export interface OrphanOptions {
  /** Which of these content hashes a dataset version row references (the caller asks the database). */
  referenced(hashes: string[]): Promise<Set<string>>;
  /** Entries modified more recently than this are kept, ms. @defaultValue 3_600_000 (an hour) */
  graceMs?: number;
  /** The current time, ms since the epoch. @defaultValue Date.now() */
  now?: number;
}

const HASH = /^[0-9a-f]{64}$/;

/** Removes the orphans; returns what was removed, relative to dataRoot ("tmp/upload-…", "versions/<hash>"). */
export async function cleanOrphans(dataRoot: string, opts: OrphanOptions): Promise<string[]> {
  const cutoff = (opts.now ?? Date.now()) - (opts.graceMs ?? 3_600_000);
  const stale = async (path: string) => (await newestMtime(path)) < cutoff;
  const removed: string[] = [];
  const remove = async (rel: string) => {
    await rm(join(dataRoot, rel), { recursive: true, force: true });
    removed.push(rel);
  };
  for (const name of await list(join(dataRoot, "tmp"))) {
    if (await stale(join(dataRoot, "tmp", name))) await remove(`tmp/${name}`);
  }
  const hashes = (await list(join(dataRoot, "versions"))).filter((n) => HASH.test(n));
  if (hashes.length === 0) return removed;
  const known = await opts.referenced(hashes);
  for (const h of hashes) {
    if (!known.has(h) && (await stale(join(dataRoot, "versions", h)))) await remove(`versions/${h}`);
  }
  return removed;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** The latest modification time of a path and everything under it (a file being written keeps it young). */
async function newestMtime(path: string): Promise<number> {
  const st = await lstat(path).catch(() => null);
  if (!st) return Infinity;
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    const entries = await readdir(path, { recursive: true }).catch(() => [] as string[]);
    for (const e of entries) newest = Math.max(newest, (await lstat(join(path, e)).catch(() => null))?.mtimeMs ?? 0);
  }
  return newest;
}
