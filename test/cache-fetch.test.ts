/**
 * A node fetching a version's preprocessed cache from the real API over real HTTP (through a recording proxy):
 * once per node however many slots ask, resumed with a byte range after a cut, re-fetched after a corrupted
 * download, refused when the content does not hash to its address, and kept under the node's size bound.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerApi } from "../apps/worker/src/cache-fetch/download.ts";
import { NodeCache } from "../apps/worker/src/cache-fetch/node-cache.ts";
import { FetchingRunner } from "../apps/worker/src/cache-fetch/fetching-runner.ts";
import type { TrainerSpec } from "@hypersweep/core";
import { ADMIN_TOKEN, eventually, startStack, type Stack } from "./helpers/stack.ts";
import { startHttpProxy, type HttpProxy } from "./helpers/http-proxy.ts";

let s: Stack;
let proxy: HttpProxy;
let token: string;
let hash: string;
let n = 0;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const apiBytes = (size: number) => readFileSync(join(s.tmp, "cache", hash, String(size), "images.u8"));

/** A node's cache in its own directory (a separate machine, as far as files go). */
function node(maxBytes = 1024 ** 3, url = proxy.url, retries = 5) {
  const root = join(s.tmp, `node-${++n}`);
  return new NodeCache({ root, maxBytes, api: new WorkerApi({ url, token, idleMs: 1000, retries, log: process.env.DEBUG_FETCH ? (m, e) => console.log(Date.now() % 100000, m, e) : undefined }) });
}
const imageGets = (size: number) => proxy.seen.filter((r) => r.path === `/v1/worker/cache/${hash}/${size}/images.u8`);

beforeAll(async () => {
  s = await startStack("cfetch", { images: 60 });
  proxy = await startHttpProxy(s.url);
  token = (await s.http("POST", "/v1/admin/worker-tokens", { name: "node" }, ADMIN_TOKEN)).body.token;
  hash = (await s.db.datasetVersion.findUniqueOrThrow({ where: { id: s.dataset.versionId } })).contentHash;
  for (const size of [16, 24, 64]) {
    await eventually(async () => (await fetch(`${s.url}/v1/worker/cache/${hash}/${size}`, { headers: { authorization: `Bearer ${token}` } })).status === 200, 60_000, 200);
  }
});
afterAll(async () => {
  await proxy?.close();
  await s?.close();
});

describe("a node's cache fetched from the API", () => {
  it("is downloaded once per node when several slots (and worker processes) ask at once, and reads like the API's", async () => {
    proxy.seen.length = 0;
    const a = node();
    const others = [new NodeCache(a.opts), new NodeCache(a.opts)];
    const got = await Promise.all([a, a, a, ...others].map((c) => c.version(hash, 16)));
    expect(imageGets(16)).toHaveLength(1);
    expect(proxy.seen.filter((r) => r.path.endsWith("/manifest.json"))).toHaveLength(1);
    expect(new Set(got.map((g) => g.datasetDir)).size).toBe(1);
    const local = readFileSync(join(got[0]!.datasetDir, "16", "images.u8"));
    expect(local.equals(apiBytes(16))).toBe(true);
    const index = JSON.parse(readFileSync(join(got[0]!.datasetDir, "16", "index.json"), "utf8"));
    expect(index.sha256).toBe(sha(local));
    expect(JSON.parse(readFileSync(join(got[0]!.datasetDir, "manifest.json"), "utf8")).contentHash).toBe(hash);
    await Promise.all(got.map((g) => g.release()));
    // Asked again: nothing is downloaded.
    await (await a.version(hash, 16)).release();
    expect(imageGets(16)).toHaveLength(1);
  });

  it("detects a corrupted download by its hash and downloads it again", async () => {
    proxy.seen.length = 0;
    proxy.tamperNext(/images\.u8$/, { flipByteAt: 5000 });
    const c = node();
    const got = await c.version(hash, 16);
    const gets = imageGets(16);
    expect(gets).toHaveLength(2);
    expect(gets[1]!.range).toBeUndefined();
    expect(readFileSync(join(got.datasetDir, "16", "images.u8")).equals(apiBytes(16))).toBe(true);
    await got.release();
  });

  it("resumes a download cut in the middle with a byte range", async () => {
    proxy.seen.length = 0;
    // 720 KiB, so that many chunks have reached the node's disk before the cut (the last ones may be lost with it).
    const total = apiBytes(64).length;
    proxy.tamperNext(/images\.u8$/, { cutAfter: Math.floor(total * 0.8) });
    const c = node();
    const got = await c.version(hash, 64);
    const gets = imageGets(64);
    expect(gets).toHaveLength(2);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? "")?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(total * 0.8);
    expect(gets[1]!.status).toBe(206);
    expect(c.downloads.ranged).toBe(1);
    expect(readFileSync(join(got.datasetDir, "64", "images.u8")).equals(apiBytes(64))).toBe(true);
    await got.release();
  });

  it("cuts a stalled download and resumes it with a byte range", async () => {
    proxy.seen.length = 0;
    proxy.tamperNext(/images\.u8$/, { stallAfter: 10_000 });
    const c = node();
    const got = await c.version(hash, 16);
    expect(imageGets(16).map((g) => g.range)).toEqual([undefined, "bytes=10000-"]);
    expect(readFileSync(join(got.datasetDir, "16", "images.u8")).equals(apiBytes(16))).toBe(true);
    await got.release();
  });

  it("fails a trial whose data the API refuses without blaming the node, and one that cannot reach the API as the node's fault", async () => {
    const inner = { run: async () => ({ kind: "result" as const, result: {} as never }) };
    const spec = { imageSize: 16, data: { datasetDir: `/gone/versions/${"d".repeat(64)}` } } as unknown as TrainerSpec;
    const refused = await new FetchingRunner(inner, node(), true).run({ spec, signal: new AbortController().signal, onMessage: async () => {} });
    expect(refused).toMatchObject({ kind: "error", reason: "fetch", retryable: true, message: expect.stringContaining("HTTP 404") });
    // A port nothing listens on (a server opened and closed).
    const closed = await new Promise<number>((r) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => r(port));
      });
    });
    const unreachable = await new FetchingRunner(inner, node(1024 ** 3, `http://127.0.0.1:${closed}`, 1), true).run({ spec, signal: new AbortController().signal, onMessage: async () => {} });
    expect(unreachable).toMatchObject({ kind: "error", reason: "data", retryable: true, message: expect.stringContaining("cannot reach the API") });
  }, 60_000);

  it("resumes the partial download a dead worker left, and starts over when that part was wrong", async () => {
    const good = node();
    const partial = join(good.opts.root, hash, ".16.download");
    mkdirSync(partial, { recursive: true });
    writeFileSync(join(partial, "images.u8"), apiBytes(16).subarray(0, 3000));
    proxy.seen.length = 0;
    const got = await good.version(hash, 16);
    expect(imageGets(16).map((g) => [g.range, g.status])).toEqual([["bytes=3000-", 206]]);
    expect(readFileSync(join(got.datasetDir, "16", "images.u8")).equals(apiBytes(16))).toBe(true);
    await got.release();

    const bad = node();
    const badPartial = join(bad.opts.root, hash, ".16.download");
    mkdirSync(badPartial, { recursive: true });
    writeFileSync(join(badPartial, "images.u8"), Buffer.alloc(3000, 7));
    proxy.seen.length = 0;
    const again = await bad.version(hash, 16);
    expect(imageGets(16).map((g) => g.range)).toEqual(["bytes=3000-", undefined]);
    expect(readFileSync(join(again.datasetDir, "16", "images.u8")).equals(apiBytes(16))).toBe(true);
    await again.release();
  });

  it("refuses a manifest that does not hash to its content hash, and publishes nothing", async () => {
    const text = readFileSync(join(s.tmp, "data", "versions", hash, "manifest.json"), "utf8");
    proxy.tamperNext(/manifest\.json$/, { flipByteAt: Buffer.from(text).indexOf(Buffer.from('"fileName":"')) + 12 });
    const c = node();
    await expect(c.version(hash, 16)).rejects.toThrow(/manifest the API sent for [0-9a-f]{64} does not hash to it: refused/);
    expect(existsSync(join(c.opts.root, hash, "manifest.json"))).toBe(false);
    expect(existsSync(join(c.opts.root, hash, "16"))).toBe(false);
  });

  it("keeps the node's cache under its bound, evicting the least recently used entry no trainer uses", async () => {
    const probe = node();
    await (await probe.version(hash, 24)).release();
    const big = await probe.usedBytes();
    const c = node(big + 1024);
    const small = await c.version(hash, 16);
    await small.release();
    const large = await c.version(hash, 24);
    // 16 was evicted to make room; 24 is complete.
    expect(existsSync(join(c.opts.root, hash, "16"))).toBe(false);
    expect(readFileSync(join(large.datasetDir, "24", "images.u8")).equals(apiBytes(24))).toBe(true);
    expect(await c.usedBytes()).toBeLessThanOrEqual(big + 1024);

    // While a trainer uses 24, fetching 16 does not evict it (the bound is exceeded rather than a trainer broken).
    const again = await c.version(hash, 16);
    expect(existsSync(join(c.opts.root, hash, "24", "images.u8"))).toBe(true);
    await large.release();
    await again.release();
    // Released: the next pass evicts the least recently used (24) until it fits.
    await c.makeRoom(0);
    expect(existsSync(join(c.opts.root, hash, "24"))).toBe(false);
    expect(statSync(join(c.opts.root, hash, "16", "images.u8")).size).toBe(apiBytes(16).length);
  });

  it("fetches pretrained weights by their hash, checked", async () => {
    const content = Buffer.from("stand-in for pretrained weights ".repeat(100));
    mkdirSync(join(s.tmp, "data", "weights"), { recursive: true });
    writeFileSync(join(s.tmp, "data", "weights", `${sha(content)}.safetensors`), content);
    proxy.tamperNext(/weights\//, { flipByteAt: 10 });
    const c = node();
    const w = await c.weights(sha(content));
    expect(readFileSync(w.path).equals(content)).toBe(true);
    expect(c.downloads.weights).toBe(1);
    await w.release();
    await expect(c.weights("c".repeat(64))).rejects.toThrow(/HTTP 404/);
  });
});
