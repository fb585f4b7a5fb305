/**
 * Datasets: upload (multipart, streamed to disk, size-limited), list, show, and a scenario preview.
 *
 * POST /v1/datasets takes multipart/form-data: optional fields `name`, `excludeBadRows` (true|false),
 * `splitSeed` (integer) first, then one `file` part (.zip, .tar or .tar.gz). Cheap checks come first (the
 * fields and the dataset name, before the file is stored); the upload is streamed to a temporary file under
 * HYPERSWEEP_DATA_DIR/tmp, unpacked under limits that scale with its size (HYPERSWEEP_UPLOAD_MAX_*), validated
 * and staged; the version directory moves into place inside the transaction that records the version. Every
 * temporary file is removed on every path, and what a crash leaves behind is removed at the next start.
 * 201 for a new version, 200 when the same content was imported before. A rejected dataset answers 400
 * DATASET_INVALID with one issue per problem (row, column), the first 100 and a count of the rest.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiConfig } from "@hypersweep/config";
import { text } from "@hypersweep/core";
import { ArchiveError, cleanOrphans, MAX_LISTED, MODALITIES, resolveScenario, stageDataset, uploadLimits, type UploadCaps, type VersionRow } from "@hypersweep/data";
import { checkDatasetName, getDataset, getDatasetVersion, listDatasets, recordDatasetVersion, referencedContentHashes } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { badRequest, HttpError } from "../errors.ts";

const IdParams = z.object({ id: text({ max: 200 }) });
const ScenarioQuery = z.strictObject({
  modality: z.enum(MODALITIES),
  task: z.enum(["binary", "multiclass"]),
  minPerClass: z.coerce.number().int().min(0).optional(),
  version: z.string().uuid().optional(),
});

type Parts = AsyncIterableIterator<import("@fastify/multipart").Multipart>;

interface UploadFields {
  name?: string;
  excludeBadRows?: boolean;
  splitSeed?: number;
}

export function datasetRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    await app.register(multipart, { limits: { fileSize: deps.config.HYPERSWEEP_UPLOAD_LIMIT, files: 1, fields: 10, fieldSize: 1024 } });
    const r = app.withTypeProvider<ZodTypeProvider>();
    const dataRoot = resolve(deps.config.HYPERSWEEP_DATA_DIR);

    await cleanOrphans(dataRoot, { referenced: (hashes) => referencedContentHashes(deps.db, hashes) }).then(
      (removed) => removed.length > 0 && app.log.info({ removed }, "removed what interrupted imports left behind"),
      (err: unknown) => app.log.warn({ err }, "could not clean orphaned import directories"),
    );

    r.post("/datasets", { schema: { tags: ["datasets"], summary: "Upload a dataset archive (multipart: name, excludeBadRows, splitSeed, then file)", consumes: ["multipart/form-data"] } }, async (req, reply) => {
      if (!req.isMultipart()) throw badRequest("expected multipart/form-data with a `file` part (.zip, .tar or .tar.gz)");
      const scratch = join(dataRoot, "tmp", `upload-${randomBytes(6).toString("hex")}`);
      await mkdir(scratch, { recursive: true });
      let answer: { status: number; body: unknown };
      try {
        answer = await importUpload(deps, req.team.id, req.parts(), scratch, dataRoot);
      } finally {
        // Before answering: a client that sees the answer sees no temporary file left.
        await rm(scratch, { recursive: true, force: true });
      }
      return reply.status(answer.status).send(answer.body);
    });

    r.get("/datasets", { schema: { tags: ["datasets"], summary: "The team's datasets with their latest version" } }, async (req) => ({
      datasets: await listDatasets(deps.db, req.team.id),
    }));

    r.get("/datasets/:id", { schema: { params: IdParams, tags: ["datasets"], summary: "A dataset (id or name) and its versions, each with a Table-2-like summary" } }, async (req) =>
      getDataset(deps.db, req.team.id, req.params.id),
    );

    r.get("/datasets/:id/scenario", { schema: { params: IdParams, querystring: ScenarioQuery, tags: ["datasets"], summary: "Preview a scenario: classes, per-split counts, dropped classes" } }, async (req) => {
      const ds = await getDataset(deps.db, req.team.id, req.params.id);
      const versionId = req.query.version ?? ds.versions[0]?.id;
      if (!versionId) throw badRequest(`dataset '${ds.name}' has no version yet`);
      const v = await getDatasetVersion(deps.db, req.team.id, versionId);
      if (v.datasetId !== ds.id) throw badRequest(`version '${versionId}' is not a version of dataset '${ds.name}'`, [{ path: "version", message: "not a version of this dataset" }]);
      const { rowIndices: _r, labels: _l, ...scenario } = resolveScenario(v.manifest as VersionRow[], {
        modality: req.query.modality,
        task: req.query.task,
        minPerClass: req.query.minPerClass,
      });
      return { datasetId: ds.id, versionId, scenario };
    });
  };
}

/** Receives, stages and records one upload; the staged files are removed before this returns. */
async function importUpload(deps: AppDeps, teamId: string, parts: Parts, scratch: string, dataRoot: string) {
  const { fields, archive, name } = await receive(parts, scratch, deps.config.HYPERSWEEP_UPLOAD_LIMIT);
  const limits = uploadLimits((await stat(archive)).size, uploadCaps(deps.config));
  const staged = await stageDataset(archive, {
    dataRoot,
    excludeBadRows: fields.excludeBadRows,
    splitSeed: fields.splitSeed,
    limits,
    maxRows: deps.config.HYPERSWEEP_UPLOAD_MAX_ROWS,
  }).catch((err: unknown) => {
    if (err instanceof ArchiveError) throw badRequest(err.message, [{ path: "file", message: err.message }]);
    throw err;
  });
  try {
    const { dataset, version, created } = await recordDatasetVersion(
      deps.db,
      teamId,
      name,
      { contentHash: staged.contentHash, storagePath: staged.storagePath, imageCount: staged.rows.length, summary: staged.summary, manifest: staged.rows },
      { publish: () => staged.publish() },
    );
    const problems = staged.problems.slice(0, MAX_LISTED);
    return { status: created ? 201 : 200, body: { dataset, version, created, summary: staged.summary, problems, problemCount: staged.problems.length } };
  } finally {
    await staged.discard();
  }
}

function uploadCaps(c: ApiConfig): UploadCaps {
  return { ratio: c.HYPERSWEEP_UPLOAD_MAX_RATIO, maxEntries: c.HYPERSWEEP_UPLOAD_MAX_ENTRIES, maxEntryBytes: c.HYPERSWEEP_UPLOAD_MAX_FILE, maxTotalBytes: c.HYPERSWEEP_UPLOAD_MAX_UNPACKED };
}

/**
 * Reads the multipart stream: small fields first, then exactly one file, streamed to `scratch`. The dataset
 * name is checked when the file part starts, so a bad name costs no disk. A body that is not valid multipart
 * (no boundary, garbage, cut short) is a 400.
 */
async function receive(parts: Parts, scratch: string, limit: number) {
  try {
    return await receiveParts(parts, scratch, limit);
  } catch (err) {
    throw malformed(err);
  }
}

/**
 * Errors of the multipart parser become 400; ours (HttpError, or a stable code like INVALID from the name check)
 * and the file system's (errno) pass through.
 */
function malformed(err: unknown): unknown {
  const e = err as { statusCode?: unknown; errno?: unknown; message?: unknown; code?: unknown };
  if (err instanceof HttpError || typeof e?.errno === "number") return err;
  if (typeof e?.code === "string" && /^[A-Z][A-Z_]+$/.test(e.code)) return err;
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) return err;
  const why = typeof e?.message === "string" ? e.message : String(err);
  return badRequest(`malformed multipart/form-data body: ${why}`, [{ path: "body", message: why }]);
}

async function receiveParts(parts: Parts, scratch: string, limit: number) {
  const fields: UploadFields = {};
  let archive: string | null = null;
  let name = "";
  for await (const part of parts) {
    if (part.type === "file") {
      if (archive) throw badRequest("send exactly one `file` part");
      name = fields.name ?? (part.filename || "dataset").replace(/\.(tar\.gz|tgz|tar|zip)$/i, "");
      try {
        checkDatasetName(name);
      } catch (err) {
        part.file.resume(); // read past the file (no disk) so the client gets the answer
        throw err;
      }
      const raw = join(scratch, "upload.bin");
      await pipeline(part.file, createWriteStream(raw));
      // Busboy stops at the limit and marks the stream truncated (it does not throw for streamed files).
      if (part.file.truncated) throw new HttpError(413, "TOO_LARGE", `the upload exceeds the limit of ${limit} bytes (HYPERSWEEP_UPLOAD_LIMIT)`);
      // The extension decides how to unpack: trust the bytes, not the client's file name.
      archive = join(scratch, `upload${await sniffArchive(raw)}`);
      await rename(raw, archive);
    } else {
      parseField(part.fieldname, String(part.value ?? ""), fields);
    }
  }
  if (!archive) throw badRequest("missing the `file` part (a .zip, .tar or .tar.gz of the dataset)", [{ path: "file", message: "required" }]);
  if (fields.name !== undefined && fields.name !== name) checkDatasetName((name = fields.name)); // sent after the file
  return { fields, archive, name };
}

function parseField(name: string, value: string, out: UploadFields): void {
  if (name === "name") out.name = value.trim();
  else if (name === "excludeBadRows") {
    if (value !== "true" && value !== "false") throw badRequest("excludeBadRows must be true or false", [{ path: "excludeBadRows", message: `expected true or false, got ${JSON.stringify(value)}` }]);
    out.excludeBadRows = value === "true";
  } else if (name === "splitSeed") {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw badRequest("splitSeed must be an integer", [{ path: "splitSeed", message: `expected an integer, got ${JSON.stringify(value)}` }]);
    out.splitSeed = n;
  } else throw badRequest(`unknown field '${name}'`, [{ path: name, message: "unknown field" }]);
}

async function sniffArchive(path: string): Promise<string> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(262);
    const { bytesRead } = await fh.read(head, 0, 262, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return ".tar.gz";
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return ".zip";
    if (bytesRead >= 262 && head.subarray(257, 262).toString("latin1") === "ustar") return ".tar";
    throw badRequest("the uploaded file is not a .zip, .tar or .tar.gz archive", [{ path: "file", message: "unrecognised archive format" }]);
  } finally {
    await fh.close();
  }
}
