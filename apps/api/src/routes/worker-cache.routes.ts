/**
 * What a worker node that shares no filesystem with the API fetches before it trains (behind workerAuth):
 *   GET /v1/worker/datasets/:contentHash/manifest.json   the version's manifest (the trainer reads its rows)
 *   GET /v1/worker/cache/:contentHash/:size              the cache's index (with `sha256` of images.u8); 202
 *                                                        while the API builds it (first request), with progress
 *   GET /v1/worker/cache/:contentHash/:size/images.u8    the preprocessed images
 *   GET /v1/worker/weights/:sha256                       pretrained weights, by content
 * Files are content-addressed and immutable: strong ETag = their hash, byte ranges for resuming (send-file.ts).
 * A version is served only if Postgres knows its content hash; files are read from this API's data and cache
 * directories (HYPERSWEEP_DATA_DIR/versions/<contentHash>, HYPERSWEEP_CACHE_DIR/<contentHash>/<size>).
 */
import { access } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { weightsRelativePath } from "@hypersweep/core";
import { readIndex } from "@hypersweep/data";
import { referencedContentHashes } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { CacheBuilds } from "../cache/cache-builds.ts";
import { sendImmutableFile } from "../cache/send-file.ts";

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in lowercase hex (64 characters)");
const notFound = (message: string) => new HttpError(404, "NOT_FOUND", message);
const exists = (path: string) => access(path).then(() => true, () => false);

export function workerCacheRoutes(deps: AppDeps) {
  const dataRoot = resolve(deps.config.HYPERSWEEP_DATA_DIR);
  const cacheRoot = resolve(deps.config.HYPERSWEEP_CACHE_DIR);
  const size = z.coerce.number().int().min(8).max(deps.config.HYPERSWEEP_MAX_IMAGE_SIZE);
  return async (app: FastifyInstance) => {
    const builds = new CacheBuilds((msg, extra) => app.log.error(extra, msg));
    const r = app.withTypeProvider<ZodTypeProvider>();

    /** The version's directory on this API's data root, if Postgres knows the version and its files are here. */
    const versionDir = async (contentHash: string) => {
      if (!(await referencedContentHashes(deps.db, [contentHash])).has(contentHash)) throw notFound(`no dataset version has content hash ${contentHash}`);
      const dir = join(dataRoot, "versions", contentHash);
      if (!(await exists(join(dir, "manifest.json")))) throw new HttpError(500, "CACHE_INVALID", `dataset version ${contentHash} is known but its files are missing from the data directory`);
      return dir;
    };

    r.get("/datasets/:contentHash/manifest.json", { schema: { tags: ["worker"], summary: "A dataset version's manifest.json (ETag: its content hash)", params: z.object({ contentHash: SHA256 }) } }, async (req, reply) => {
      const dir = await versionDir(req.params.contentHash);
      return sendImmutableFile(req, reply, join(dir, "manifest.json"), req.params.contentHash, "application/json");
    });

    r.get("/cache/:contentHash/:size", {
      schema: { tags: ["worker"], summary: "The preprocessing cache's index at this image size (202 while it is built)", params: z.object({ contentHash: SHA256, size }) },
    }, async (req, reply) => {
      const { contentHash, size: s } = req.params;
      const key = `${contentHash}/${s}`;
      const index = await readIndex(join(cacheRoot, contentHash, String(s)));
      if (index?.sha256) return index;
      const previous = builds.state(key);
      if (previous?.status === "failed") throw new HttpError(500, "CACHE_INVALID", `building the cache ${key} failed: ${previous.message}`);
      const dir = await versionDir(contentHash);
      // Not built (or built before integrity hashes were recorded): build / hash it in a child process.
      const state = builds.start(key, dir, s, cacheRoot);
      if (state.status !== "building") throw new HttpError(500, "CACHE_INVALID", `building the cache ${key} failed`);
      return reply.status(202).header("retry-after", "1").send({ status: "building", contentHash, size: s, done: state.done, total: state.total, seconds: Math.round((Date.now() - state.startedAt) / 1000) });
    });

    r.get("/cache/:contentHash/:size/images.u8", {
      schema: { tags: ["worker"], summary: "The preprocessed images (uint8, count × size × size × 3); ETag: their sha256; byte ranges", params: z.object({ contentHash: SHA256, size }) },
    }, async (req, reply) => {
      const { contentHash, size: s } = req.params;
      const dir = join(cacheRoot, contentHash, String(s));
      const index = await readIndex(dir);
      if (!index?.sha256) throw notFound(`the cache ${contentHash}/${s} is not built yet: GET /v1/worker/cache/${contentHash}/${s} first`);
      return sendImmutableFile(req, reply, join(dir, "images.u8"), index.sha256);
    });

    r.get("/weights/:sha256", { schema: { tags: ["worker"], summary: "Pretrained weights (.safetensors) by their sha256; byte ranges", params: z.object({ sha256: SHA256 }) } }, async (req, reply) => {
      const path = join(dataRoot, weightsRelativePath(req.params.sha256));
      if (!(await exists(path))) throw notFound(`no weights with sha256 ${req.params.sha256}`);
      return sendImmutableFile(req, reply, path, req.params.sha256);
    });
  };
}
