/**
 * Downloads from the API's /v1/worker routes with the node's worker token: JSON answers (waiting out 202s while
 * the API builds), and files resumed with byte ranges and checked against their sha256.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rm, stat, truncate } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sha256File } from "@hypersweep/data";

export class CacheFetchError extends Error {
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** The API answered, and refused (4xx/5xx): a fault of the API or of the request, not of this node. */
    readonly byApi = false,
  ) {
    super(message, options);
    this.name = "CacheFetchError";
  }
}

/** Fails a download that receives nothing for `ms` (a stalled connection), so that it is resumed. */
function idleGuard(ms: number): Transform {
  let timer: NodeJS.Timeout | undefined;
  const guard: Transform = new Transform({
    transform(chunk, _enc, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
    destroy(err, done) {
      clearTimeout(timer);
      done(err);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => guard.destroy(new CacheFetchError(`no data for ${ms} ms`)), ms);
  };
  arm();
  return guard;
}

export interface WorkerApiOptions {
  url: string;
  token: string;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Network failures retried per file (a cut download resumes where it stopped). @defaultValue 5 */
  retries?: number;
  /** How long to wait for the API to build a cache, ms. @defaultValue 3600000 */
  buildTimeoutMs?: number;
  /** A download that receives nothing for this long is cut and resumed, ms. @defaultValue 60000 */
  idleMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

export class WorkerApi {
  constructor(readonly opts: WorkerApiOptions) {}

  private async get(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(new URL(path, this.opts.url), { headers: { authorization: `Bearer ${this.opts.token}`, ...headers }, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new CacheFetchError(`cannot reach the API at ${this.opts.url}: ${((err as Error).cause as Error)?.message ?? (err as Error).message}`, { cause: err });
    }
  }

  private async refuse(res: Response, path: string, method = "GET"): Promise<never> {
    const body = await res.text().catch(() => "");
    let message = body.slice(0, 300);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not JSON
    }
    throw new CacheFetchError(`${method} ${path}: HTTP ${res.status}: ${message}`, undefined, true);
  }

  /**
   * PUTs a body (a file, streamed, or JSON) to the API; network failures are retried (a PUT of content-addressed
   * data is idempotent), refusals are not. Answers the parsed JSON reply.
   */
  async put(path: string, body: { file: string; sha256: string } | { json: unknown }, signal?: AbortSignal): Promise<unknown> {
    const retries = this.opts.retries ?? 5;
    for (let failures = 0; ; ) {
      let res: Response;
      try {
        const init: RequestInit & { duplex?: "half" } = "file" in body
          ? {
            body: Readable.toWeb(createReadStream(body.file)) as unknown as BodyInit,
            duplex: "half",
            headers: { "content-type": "application/octet-stream", "x-content-sha256": body.sha256 },
          }
          : { body: JSON.stringify(body.json), headers: { "content-type": "application/json" } };
        res = await fetch(new URL(path, this.opts.url), { ...init, method: "PUT", headers: { authorization: `Bearer ${this.opts.token}`, ...init.headers as Record<string, string> }, signal });
      } catch (err) {
        if (signal?.aborted) throw err;
        if (++failures > retries) throw new CacheFetchError(`cannot reach the API at ${this.opts.url}: ${((err as Error).cause as Error)?.message ?? (err as Error).message}`, { cause: err });
        this.opts.log?.("upload interrupted: sending it again", { path, error: (err as Error).message, failures });
        await sleep(Math.min(5_000, 200 * 2 ** failures), signal);
        continue;
      }
      if (res.status === 200 || res.status === 201) return res.json();
      if (res.status >= 500 && res.status !== 500 && ++failures <= retries) {
        await sleep(Math.min(5_000, 200 * 2 ** failures), signal);
        continue;
      }
      return this.refuse(res, path, "PUT");
    }
  }

  /** A JSON answer; while the API answers 202 (building), waits as its Retry-After says and asks again. */
  async json<T>(path: string, signal?: AbortSignal): Promise<T> {
    const until = Date.now() + (this.opts.buildTimeoutMs ?? 3_600_000);
    for (let logged = 0; ; ) {
      const res = await this.get(path, { accept: "application/json" }, signal);
      if (res.status === 200) return (await res.json()) as T;
      if (res.status !== 202) return this.refuse(res, path);
      const progress = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (Date.now() > until) throw new CacheFetchError(`GET ${path}: still building after ${this.opts.buildTimeoutMs ?? 3_600_000} ms`);
      if (Date.now() - logged > 10_000) {
        logged = Date.now();
        this.opts.log?.("waiting for the API to build the cache", { path, ...progress });
      }
      await sleep(Math.min(5_000, 1000 * Number(res.headers.get("retry-after") ?? 1) || 1000), signal);
    }
  }

  /**
   * Makes `dest` a complete copy of the file at `path` whose sha256 is `sha256` (and size `bytes`, when known).
   * A partial `dest` left by an earlier try (this process or one that died) is resumed with a byte range tied to
   * the hash (If-Range); a connection cut mid-body is resumed the same way. A complete file with another hash is
   * deleted and downloaded again once; a second mismatch is an error. With `sha256` null the caller checks the
   * content itself (a manifest, whose ETag is its version's content hash); `etag` ties a resumed range to it.
   */
  async file(path: string, dest: string, sha256: string | null, bytes: number | null, signal?: AbortSignal, etag = sha256): Promise<{ ranged: number }> {
    await mkdir(dirname(dest), { recursive: true });
    const retries = this.opts.retries ?? 5;
    let ranged = 0;
    let mismatches = 0;
    for (let failures = 0; ; ) {
      let have = (await stat(dest).catch(() => null))?.size ?? 0;
      if (bytes !== null && have > bytes) {
        await truncate(dest, 0);
        have = 0;
      }
      try {
        if (bytes === null || have < bytes) {
          const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-`, ...(etag ? { "if-range": `"${etag}"` } : {}) } : {};
          const res = await this.get(path, headers, signal);
          if (res.status === 206) {
            const m = /^bytes (\d+)-\d+\/\d+$/.exec(res.headers.get("content-range") ?? "");
            if (!m || Number(m[1]) !== have) throw new CacheFetchError(`GET ${path}: the API answered range ${res.headers.get("content-range")} to a request from byte ${have}`);
            ranged++;
            this.opts.log?.("resuming a download", { path, from: have });
          } else if (res.status === 416 && bytes === null) {
            // The partial file is already whole (its size was unknown): verified below.
          } else if (res.status !== 200) {
            await this.refuse(res, path);
          }
          if (res.status === 200 || res.status === 206) {
            const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream);
            await pipeline(body, idleGuard(this.opts.idleMs ?? 60_000), createWriteStream(dest, { flags: res.status === 206 ? "a" : "w" }), { signal });
          }
        }
        if (sha256 === null) return { ranged };
        const got = await sha256File(dest);
        if (got === sha256 && (bytes === null || (await stat(dest)).size === bytes)) return { ranged };
        await rm(dest, { force: true });
        if (++mismatches > 1) throw new CacheFetchError(`GET ${path}: the downloaded file's sha256 is ${got}, not ${sha256}, twice: refused`);
        this.opts.log?.("a downloaded file failed its hash check: downloading it again", { path, expected: sha256, got });
      } catch (err) {
        if (signal?.aborted || (err instanceof CacheFetchError && (/refused|answered range/.test(err.message) || (err.byApi && /HTTP 4\d\d/.test(err.message))))) throw err;
        if (++failures > retries) throw err instanceof CacheFetchError ? err : new CacheFetchError(`GET ${path}: ${(err as Error).message}`, { cause: err });
        this.opts.log?.("download interrupted: resuming", { path, error: (err as Error).message, failures });
        await sleep(Math.min(5_000, 200 * 2 ** failures), signal);
      }
    }
  }
}
