/**
 * The cache routes for worker nodes that share no filesystem with the API: the API builds a version's cache on
 * the first request (202 with progress, then the index with the integrity hash), and serves files by content
 * with strong ETags and byte ranges; only with a worker token.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, eventually, startStack, type Stack } from "../../../test/helpers/stack.ts";

let s: Stack;
let token: string;
let hash: string;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

beforeAll(async () => {
  s = await startStack("wcache", { images: 60 });
  token = (await s.http("POST", "/v1/admin/worker-tokens", { name: "node" }, ADMIN_TOKEN)).body.token;
  hash = (await s.db.datasetVersion.findUniqueOrThrow({ where: { id: s.dataset.versionId } })).contentHash;
});
afterAll(async () => s?.close());

const get = (path: string, headers: Record<string, string> = {}, key = token) => fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } });

describe("the cache for worker nodes", () => {
  let index: { sha256: string; count: number; bytesPerImage: number; contentHash: string; size: number };
  let bytes: Buffer;

  it("is built on the first request (202 with progress), then answered with its integrity hash", async () => {
    const first = await get(`/v1/worker/cache/${hash}/16`);
    expect(first.status).toBe(202);
    expect(first.headers.get("retry-after")).toBe("1");
    expect(await first.json()).toMatchObject({ status: "building", contentHash: hash, size: 16 });
    index = await eventually(async () => {
      const r = await get(`/v1/worker/cache/${hash}/16`);
      return r.status === 200 ? r.json() : null;
    }, 60_000, 200);
    expect(index).toMatchObject({ contentHash: hash, size: 16, count: 60, bytesPerImage: 16 * 16 * 3 });
    // The hash is the API's own cache file's.
    bytes = readFileSync(join(s.tmp, "cache", hash, "16", "images.u8"));
    expect(index.sha256).toBe(sha(bytes));
    expect(bytes.length).toBe(60 * 16 * 16 * 3);
  });

  it("serves images.u8 whole and by byte range, with the hash as a strong ETag", async () => {
    const whole = await get(`/v1/worker/cache/${hash}/16/images.u8`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("etag")).toBe(`"${index.sha256}"`);
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(index.sha256);

    const part = await get(`/v1/worker/cache/${hash}/16/images.u8`, { range: "bytes=1000-1999", "if-range": `"${index.sha256}"` });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);

    const tail = await get(`/v1/worker/cache/${hash}/16/images.u8`, { range: "bytes=-10" });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);
    const rest = await get(`/v1/worker/cache/${hash}/16/images.u8`, { range: `bytes=${bytes.length - 5}-` });
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(bytes.length - 5))).toBe(true);

    // A range tied to another content is answered with the whole (current) file.
    const stale = await get(`/v1/worker/cache/${hash}/16/images.u8`, { range: "bytes=1000-", "if-range": `"${"0".repeat(64)}"` });
    expect(stale.status).toBe(200);
    expect(Number(stale.headers.get("content-length"))).toBe(bytes.length);
    await stale.arrayBuffer();

    const past = await get(`/v1/worker/cache/${hash}/16/images.u8`, { range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    const same = await get(`/v1/worker/cache/${hash}/16/images.u8`, { "if-none-match": `"${index.sha256}"` });
    expect(same.status).toBe(304);
  });

  it("serves the version's manifest, whose rows hash to the content hash", async () => {
    const r = await get(`/v1/worker/datasets/${hash}/manifest.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get("etag")).toBe(`"${hash}"`);
    const manifest = (await r.json()) as { contentHash: string; rows: unknown[] };
    expect(manifest.contentHash).toBe(hash);
    expect(manifest.rows).toHaveLength(60);
  });

  it("gives an index built before integrity hashes its hash", async () => {
    const first = await eventually(async () => {
      const r = await get(`/v1/worker/cache/${hash}/24`);
      return r.status === 200 ? r.json() : null;
    }, 60_000, 200);
    const file = join(s.tmp, "cache", hash, "24", "index.json");
    const { sha256, ...old } = JSON.parse(readFileSync(file, "utf8"));
    expect(sha256).toBe(first.sha256);
    writeFileSync(file, JSON.stringify(old));
    expect((await get(`/v1/worker/cache/${hash}/24/images.u8`)).status).toBe(404);
    const again = await eventually(async () => {
      const r = await get(`/v1/worker/cache/${hash}/24`);
      return r.status === 200 ? r.json() : null;
    }, 60_000, 200);
    expect(again.sha256).toBe(sha256);
    expect(JSON.parse(readFileSync(file, "utf8")).sha256).toBe(sha256);
  });

  it("serves pretrained weights by their sha256", async () => {
    const content = Buffer.from("stand-in for a .safetensors file");
    mkdirSync(join(s.tmp, "data", "weights"), { recursive: true });
    writeFileSync(join(s.tmp, "data", "weights", `${sha(content)}.safetensors`), content);
    const r = await get(`/v1/worker/weights/${sha(content)}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("etag")).toBe(`"${sha(content)}"`);
    expect(Buffer.from(await r.arrayBuffer()).equals(content)).toBe(true);
    expect((await get(`/v1/worker/weights/${"a".repeat(64)}`)).status).toBe(404);
  });

  it("answers a build that failed (an image missing from the API's data) with a 500 naming the cache, once, then builds again", async () => {
    const manifest = JSON.parse(readFileSync(join(s.tmp, "data", "versions", hash, "manifest.json"), "utf8"));
    const image = join(s.tmp, "data", "versions", hash, "images", manifest.rows[3].fileName);
    const kept = readFileSync(image);
    rmSync(image);
    try {
      expect((await get(`/v1/worker/cache/${hash}/40`)).status).toBe(202);
      const failed = await eventually(async () => {
        const r = await get(`/v1/worker/cache/${hash}/40`);
        return r.status === 500 ? r.json() : null;
      }, 60_000, 200);
      expect(failed.error).toBe("CACHE_INVALID");
      expect(failed.message).toContain(`building the cache ${hash}/40 failed`);
      expect(failed.message).not.toContain(s.tmp);
    } finally {
      writeFileSync(image, kept);
    }
    expect((await get(`/v1/worker/cache/${hash}/40`)).status).toBe(202);
    const built = await eventually(async () => {
      const r = await get(`/v1/worker/cache/${hash}/40`);
      return r.status === 200 ? r.json() : null;
    }, 60_000, 200);
    expect(built).toMatchObject({ size: 40, count: 60, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("refuses unknown and malformed hashes and sizes, naming the field, and anything but a worker token", async () => {
    const unknown = await get(`/v1/worker/cache/${"b".repeat(64)}/16`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).message).toContain("no dataset version has content hash");
    expect((await get(`/v1/worker/datasets/${"b".repeat(64)}/manifest.json`)).status).toBe(404);
    const notBuilt = await get(`/v1/worker/cache/${hash}/32/images.u8`);
    expect(notBuilt.status).toBe(404);
    expect((await notBuilt.json()).message).toContain("not built yet");
    for (const [path, field] of [[`/v1/worker/cache/XYZ/16`, "params.contentHash"], [`/v1/worker/cache/${hash}/7`, "params.size"], [`/v1/worker/cache/${hash}/99999`, "params.size"], [`/v1/worker/weights/../../etc`, null]] as const) {
      const r = await get(path);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.status, path).toBeLessThan(500);
      if (field) expect((await r.json()).issues.map((i: { path: string }) => i.path), path).toEqual([field]);
    }
    const team = await get(`/v1/worker/cache/${hash}/16/images.u8`, {}, s.team.apiKey);
    expect(team.status).toBe(403);
    expect((await get(`/v1/worker/cache/${hash}/16/images.u8`, {}, "")).status).toBe(401);
  });
});
