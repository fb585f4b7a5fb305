/**
 * Builds of the preprocessing cache that the API runs for worker nodes which share no filesystem with it.
 *
 * A build decodes and resizes every image of a version (sharp / libvips: CPU for seconds to minutes), so it never
 * runs in the API process: each runs in a child process (build-child.ts) at a lower CPU priority, and the API's
 * event loop only reads its progress lines. One build per (version, size) at a time in this process; across API
 * processes (and with workers that build on a shared volume) the cache's build-once lock makes the others wait
 * for the first builder instead of repeating its work.
 */
import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export type BuildState =
  | { status: "building"; done: number; total: number | null; startedAt: number }
  | { status: "failed"; message: string; at: number };

const CHILD = fileURLToPath(new URL("./build-child.ts", import.meta.url));
/** The checkout's root, where `tsx` resolves for the child. */
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export class CacheBuilds {
  private readonly states = new Map<string, BuildState>();

  constructor(private readonly log: (msg: string, extra?: Record<string, unknown>) => void = () => {}) {}

  /** The build of this entry if one is running or failed recently (a failure is reported once, then retried). */
  state(key: string): BuildState | undefined {
    const s = this.states.get(key);
    if (s?.status === "failed") this.states.delete(key);
    return s;
  }

  /** Starts building (version dir, size) into cacheRoot unless this process already is. */
  start(key: string, versionDir: string, size: number, cacheRoot: string): BuildState {
    const running = this.states.get(key);
    if (running?.status === "building") return running;
    const state: BuildState = { status: "building", done: 0, total: null, startedAt: Date.now() };
    this.states.set(key, state);
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, versionDir, String(size), cacheRoot], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid) {
      try {
        setPriority(child.pid, 10);
      } catch {
        // Not permitted here: the build still runs, at normal priority.
      }
    }
    let error = "";
    let stderr = "";
    createInterface({ input: child.stdout! }).on("line", (l) => {
      try {
        const m = JSON.parse(l) as { type: string; done?: number; total?: number; message?: string };
        if (m.type === "progress") Object.assign(state, { done: m.done, total: m.total });
        if (m.type === "error") error = m.message ?? "failed";
      } catch {
        // not a progress line
      }
    });
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const finish = (failure: string | null) => {
      if (this.states.get(key) !== state) return;
      if (failure === null) this.states.delete(key);
      else {
        this.log("cache build failed", { key, message: failure });
        this.states.set(key, { status: "failed", message: failure, at: Date.now() });
      }
    };
    child.on("error", (err) => finish(err.message));
    child.on("close", (code) => finish(code === 0 ? null : error || stderr.trim().split("\n").pop() || `exit code ${code}`));
    return state;
  }
}
