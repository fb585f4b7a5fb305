/**
 * A build-once guard for directories shared by several processes (and nodes, on a shared volume).
 *
 * Correctness never depends on the lock: results are written to a private temporary directory and published
 * with one atomic rename, so two builders at worst do the work twice and the second rename is discarded. The
 * lock (a file created with O_EXCL, its mtime refreshed while the owner works) only avoids that waste: a
 * second process waits for the result instead. A lock whose mtime is older than `staleMs` belongs to a builder
 * that died and is taken over.
 */
import { open, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";

export interface BuildOnceOptions {
  /** A lock not refreshed for this long is considered abandoned. @defaultValue 30000 */
  staleMs?: number;
  /** How often a waiter looks again. @defaultValue 100 */
  pollMs?: number;
  /** Give up waiting after this long (a builder that is alive but slow keeps its lock fresh). @defaultValue 3600000 */
  timeoutMs?: number;
}

/**
 * Returns `ready()`'s value as soon as it is non-null; otherwise builds under `lockPath` (or waits for whoever
 * holds it). `build` must publish atomically so that `ready()` never sees a partial result.
 */
export async function buildOnce<T>(
  lockPath: string,
  ready: () => Promise<T | null>,
  build: () => Promise<T>,
  opts: BuildOnceOptions = {},
): Promise<{ value: T; built: boolean }> {
  const staleMs = opts.staleMs ?? 30_000;
  const pollMs = opts.pollMs ?? 100;
  const deadline = Date.now() + (opts.timeoutMs ?? 3_600_000);
  for (;;) {
    const existing = await ready();
    if (existing !== null) return { value: existing, built: false };
    const fh = await open(lockPath, "wx").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EEXIST") return null;
      throw err;
    });
    if (fh) {
      await fh.close();
      await writeFile(lockPath, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      const beat = setInterval(() => void utimes(lockPath, new Date(), new Date()).catch(() => {}), Math.max(50, staleMs / 4));
      beat.unref();
      try {
        // Someone may have published between our check and our lock.
        const again = await ready();
        if (again !== null) return { value: again, built: false };
        return { value: await build(), built: true };
      } finally {
        clearInterval(beat);
        await unlink(lockPath).catch(() => {});
      }
    }
    const st = await stat(lockPath).catch(() => null);
    if (st && Date.now() - st.mtimeMs > staleMs) {
      await unlink(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
