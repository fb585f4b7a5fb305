import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A private temporary directory for one test file; remove it in afterAll. */
export async function tempDir(label: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `hs-data-${label}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Entries of a directory, [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
