/**
 * Final models of worker nodes that share no filesystem with the API (behind workerAuth): a node that fetched its
 * data uploads the model its final training published before it records the result, which then names the stored
 * model (`models/<id>/<main file>`) instead of a path on that node. Any node can fetch it for an evaluation.
 * Every upload names its attempt (`?trialId=&attempt=`) and is refused (409 LEASE_LOST) unless that attempt holds
 * the trial's lease: a worker token alone stores nothing. What no result names is deleted later (model-prune.ts).
 *   PUT /v1/worker/models/:model/:name   one file, raw body, `x-content-sha256: <hex>` its sha256: hashed while it
 *                                        streams to a temporary file (at most HYPERSWEEP_MODEL_LIMIT bytes); a
 *                                        body of another hash is 400 naming the file, and nothing is kept. 201
 *                                        stored; 200 the same content already there; 409 other content there
 *   PUT /v1/worker/models/:model         the manifest (StoredModelManifest) whose canonical sha256 is :model, once
 *                                        every file it lists is stored with its hash and size: the model exists
 *   GET /v1/worker/models/:model         the manifest (404 until it is stored)
 *   GET /v1/worker/models/:model/:name   a file of a stored model (ETag = its sha256, byte ranges)
 * Layout under HYPERSWEEP_DATA_DIR: models/<id>/<name> (files), models/<id>.json (the manifest, written last).
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { link, mkdir, rmdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { modelIdOf, ModelFileName, StoredModelManifest } from "@hypersweep/core";
import { sha256File } from "@hypersweep/data";
import { attemptHoldsLease } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { badRequest, HttpError } from "../errors.ts";
import { sendImmutableFile } from "../cache/send-file.ts";

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in lowercase hex (64 characters)");
const FileParams = z.object({ model: SHA256, name: ModelFileName });
/** The attempt an upload belongs to. */
const Owner = z.object({ trialId: z.string().uuid(), attempt: z.coerce.number().int().min(1) });

class TooLarge extends Error {}

/** Streams `source` to `file`, hashing it, failing past `limit` bytes. */
async function receive(source: Readable, file: string, limit: number): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) return done(new TooLarge());
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(source, tap, createWriteStream(file, { flags: "wx" }));
  return { sha256: hash.digest("hex"), bytes };
}

export function workerModelRoutes(deps: AppDeps) {
  const root = resolve(deps.config.HYPERSWEEP_DATA_DIR, "models");
  const limit = deps.config.HYPERSWEEP_MODEL_LIMIT;
  const manifestOf = async (model: string): Promise<StoredModelManifest | null> => {
    const text = await readFile(join(root, `${model}.json`), "utf8").catch(() => null);
    return text === null ? null : StoredModelManifest.parse(JSON.parse(text));
  };
  const mustHoldLease = async ({ trialId, attempt }: z.output<typeof Owner>, model: string) => {
    if (await attemptHoldsLease(deps.db, trialId, attempt)) return;
    throw new HttpError(409, "LEASE_LOST", `attempt ${attempt} of trial ${trialId} does not hold the trial's lease (it ended, lost it, or never began): model ${model} is not stored`);
  };
  /** An answer of "already stored" makes the model young again: the pruner keeps it for another grace period. */
  const touch = (path: string) => utimes(path, new Date(), new Date()).catch(() => {});
  return async (app: FastifyInstance) => {
    // Model files arrive as raw bodies, streamed (never buffered: bounded by HYPERSWEEP_MODEL_LIMIT below).
    app.addContentTypeParser("application/octet-stream", (_req, payload, done) => done(null, payload));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.put("/models/:model/:name", {
      schema: {
        tags: ["worker"], summary: "Upload one file of a final model (raw body; x-content-sha256: its sha256) for an attempt holding its lease", params: FileParams,
        headers: z.object({ "x-content-sha256": SHA256 }).passthrough(), querystring: Owner,
      },
    }, async (req, reply) => {
      const { model, name } = req.params;
      await mustHoldLease(req.query, model);
      const declared = req.headers["x-content-sha256"];
      const length = Number(req.headers["content-length"] ?? 0);
      if (length > limit) throw new HttpError(413, "TOO_LARGE", `${name} (${length} bytes) exceeds the limit of ${limit} bytes (HYPERSWEEP_MODEL_LIMIT)`);
      if (!req.body || typeof (req.body as Readable).pipe !== "function") {
        throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `send ${name} as the raw body with content-type application/octet-stream`);
      }
      const dir = join(root, model);
      await mkdir(dir, { recursive: true });
      const tmp = join(dir, `.${name}.${randomBytes(6).toString("hex")}.upload`);
      let got: { sha256: string; bytes: number };
      try {
        got = await receive(req.body as Readable, tmp, limit);
      } catch (err) {
        await rm(tmp, { force: true });
        if (err instanceof TooLarge) throw new HttpError(413, "TOO_LARGE", `${name} exceeds the limit of ${limit} bytes (HYPERSWEEP_MODEL_LIMIT)`);
        throw err;
      }
      if (got.sha256 !== declared) {
        await rm(tmp, { force: true });
        await rmdir(dir).catch(() => {}); // only when empty: a first upload that failed leaves no trace
        const message = `${name}: the body's sha256 is ${got.sha256} (${got.bytes} bytes), not ${declared} as x-content-sha256 says: nothing was stored`;
        throw badRequest(message, [{ path: "body", message }]);
      }
      // Published by a hard link, which never replaces a file: of two uploads at once, one stores, the other compares.
      const target = join(dir, name);
      const linked = await link(tmp, target).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return false;
        throw err;
      }).finally(() => rm(tmp, { force: true }));
      if (!linked) {
        const stored = await sha256File(target);
        if (stored !== got.sha256) throw new HttpError(409, "CONFLICT", `model ${model} already holds another ${name} (sha256 ${stored}): a model's files never change`);
        await touch(target);
        return reply.status(200).send({ model, name, sha256: stored, bytes: got.bytes, stored: "already" });
      }
      return reply.status(201).send({ model, name, sha256: got.sha256, bytes: got.bytes, stored: "now" });
    });

    r.put("/models/:model", {
      schema: { tags: ["worker"], summary: "Store a final model's manifest once all its files are uploaded (for an attempt holding its lease)", params: z.object({ model: SHA256 }), querystring: Owner, body: StoredModelManifest },
    }, async (req, reply) => {
      const { model } = req.params;
      const m = req.body;
      const id = modelIdOf(m);
      if (id !== model) throw badRequest(`the manifest hashes to ${id}, not to the model id ${model}`, [{ path: "params.model", message: `the manifest's id is ${id}` }]);
      await mustHoldLease(req.query, model);
      if (await manifestOf(model)) {
        await touch(join(root, `${model}.json`));
        return reply.status(200).send({ model, stored: "already" });
      }
      for (const [i, f] of m.files.entries()) {
        const path = join(root, model, f.name);
        const st = await stat(path).catch(() => null);
        if (!st) throw badRequest(`${f.name} of model ${model} has not been uploaded: PUT /v1/worker/models/${model}/${f.name} first`, [{ path: `files.${i}`, message: `${f.name} is not uploaded` }]);
        const sha = await sha256File(path);
        if (sha !== f.sha256 || st.size !== f.bytes) throw new HttpError(409, "CONFLICT", `the stored ${f.name} of model ${model} has sha256 ${sha} (${st.size} bytes), not ${f.sha256} (${f.bytes} bytes)`);
      }
      const tmp = join(root, `.${model}.${randomBytes(6).toString("hex")}.json`);
      await writeFile(tmp, JSON.stringify(m));
      await rename(tmp, join(root, `${model}.json`));
      return reply.status(201).send({ model, stored: "now" });
    });

    r.get("/models/:model", { schema: { tags: ["worker"], summary: "A stored final model's manifest", params: z.object({ model: SHA256 }) } }, async (req) => {
      const m = await manifestOf(req.params.model);
      if (!m) throw new HttpError(404, "NOT_FOUND", `no stored model ${req.params.model}`);
      return m;
    });

    r.get("/models/:model/:name", { schema: { tags: ["worker"], summary: "A file of a stored final model (ETag: its sha256; byte ranges)", params: FileParams } }, async (req, reply) => {
      const { model, name } = req.params;
      const f = (await manifestOf(model))?.files.find((x) => x.name === name);
      if (!f) throw new HttpError(404, "NOT_FOUND", `no stored model ${model} with a file ${name}`);
      return sendImmutableFile(req, reply, join(root, model, name), f.sha256);
    });
  };
}
