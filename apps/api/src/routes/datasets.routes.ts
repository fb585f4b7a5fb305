/**
 * Datasets: upload (multipart, streamed to disk, size-limited), list, show, and a scenario preview.
 *
 * POST /v1/datasets takes multipart/form-data: optional fields `name`, `excludeBadRows` (true|false),
 * `splitSeed` (integer) first, then one `file` part (.zip, .tar or .tar.gz). The upload is streamed to a
 * temporary file under HYPERSWEEP_DATA_DIR/tmp, imported (validated, split, stored content-addressed) and
 * recorded; the temporary file is removed on every path. 201 for a new version, 200 when the same content was
 * imported before. A rejected dataset answers 400 DATASET_INVALID with one issue per problem (row, column).
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { text } from "@hypersweep/core";
import { ArchiveError, importDataset, MODALITIES, resolveScenario, type VersionRow } from "@hypersweep/data";
import { getDataset, getDatasetVersion, listDatasets, recordDatasetVersion } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { badRequest, HttpError } from "../errors.ts";

const IdParams = z.object({ id: text({ max: 200 }) });
const ScenarioQuery = z.strictObject({
  modality: z.enum(MODALITIES),
  task: z.enum(["binary", "multiclass"]),
  minPerClass: z.coerce.number().int().min(0).optional(),
  version: z.string().uuid().optional(),
});

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

    r.post("/datasets", { schema: { tags: ["datasets"], summary: "Upload a dataset archive (multipart: name, excludeBadRows, splitSeed, then file)", consumes: ["multipart/form-data"] } }, async (req, reply) => {
      if (!req.isMultipart()) throw badRequest("expected multipart/form-data with a `file` part (.zip, .tar or .tar.gz)");
      const scratch = join(dataRoot, "tmp", `upload-${randomBytes(6).toString("hex")}`);
      await mkdir(scratch, { recursive: true });
      try {
        const { fields, archive, fileName } = await receive(req.parts(), scratch, deps.config.HYPERSWEEP_UPLOAD_LIMIT);
        const name = fields.name ?? fileName.replace(/\.(tar\.gz|tgz|tar|zip)$/i, "");
        // Images are already compressed, so a real dataset unpacks to about its archive's size; 4× is generous.
        const maxExtractedBytes = 4 * deps.config.HYPERSWEEP_UPLOAD_LIMIT;
        const result = await importDataset(archive, { dataRoot, excludeBadRows: fields.excludeBadRows, splitSeed: fields.splitSeed, maxExtractedBytes }).catch((err: unknown) => {
          if (err instanceof ArchiveError) throw badRequest(err.message, [{ path: "file", message: err.message }]);
          throw err;
        });
        const { dataset, version, created } = await recordDatasetVersion(deps.db, req.team.id, name, {
          contentHash: result.contentHash,
          storagePath: result.storagePath,
          imageCount: result.rows.length,
          summary: result.summary,
          manifest: result.rows,
        });
        return reply.status(created ? 201 : 200).send({ dataset, version, created, summary: result.summary, problems: result.problems });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
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

/** Reads the multipart stream: small fields first, then exactly one file, streamed to `scratch`. */
async function receive(parts: AsyncIterableIterator<import("@fastify/multipart").Multipart>, scratch: string, limit: number) {
  const fields: UploadFields = {};
  let archive: string | null = null;
  let fileName = "dataset";
  for await (const part of parts) {
    if (part.type === "file") {
      if (archive) throw badRequest("send exactly one `file` part");
      fileName = part.filename || fileName;
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
  return { fields, archive, fileName };
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
