/**
 * Pretrained weights: import (multipart), list, show.
 *
 * POST /v1/weights takes multipart/form-data: fields `architecture` and `name`, and one `file` part (a
 * torchvision-named .safetensors state_dict). The file is streamed to disk (at most HYPERSWEEP_WEIGHTS_LIMIT
 * bytes), its header checked against the architecture's tensors, and stored content-addressed (sha256). 201 for
 * a new name, 200 when the team already gave this content that name; 409 for other content under a taken name.
 * The temporary file is removed on every path. Sweeps use them by name: `overrides.pretrained`.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import multipart, { type Multipart } from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { Architecture, ARCHITECTURES } from "@hypersweep/core";
import { checkWeightsName, getWeights, listWeights, recordWeights } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { badRequest, HttpError } from "../errors.ts";
import { checkWeightsFile, storeWeightsFile, streamToFile } from "../weights.store.ts";

const IdParams = z.object({ id: z.string().min(1).max(200) });
const ListQuery = z.strictObject({ architecture: Architecture.optional() });

export function weightsRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    const limit = deps.config.HYPERSWEEP_WEIGHTS_LIMIT;
    await app.register(multipart, { limits: { fileSize: limit, files: 1, fields: 4, fieldSize: 1024 } });
    const r = app.withTypeProvider<ZodTypeProvider>();
    const dataRoot = resolve(deps.config.HYPERSWEEP_DATA_DIR);

    r.post("/weights", { schema: { tags: ["weights"], summary: "Import pretrained weights (multipart: architecture, name, then a torchvision-named .safetensors file)", consumes: ["multipart/form-data"] } }, async (req, reply) => {
      if (!req.isMultipart()) throw badRequest("expected multipart/form-data with fields `architecture`, `name` and a `file` part (.safetensors)");
      const tmp = join(dataRoot, "tmp", `weights-${randomBytes(6).toString("hex")}.part`);
      try {
        const { fields, file } = await receive(req.parts(), tmp, limit);
        const architecture = parseArchitecture(fields.architecture);
        const name = (fields.name ?? "").trim();
        if (!name) throw badRequest("missing the `name` field (e.g. imagenet)", [{ path: "name", message: "required" }]);
        checkWeightsName(name);
        if (!file) throw badRequest("missing the `file` part (a .safetensors file)", [{ path: "file", message: "required" }]);
        const tensorCount = await checkWeightsFile(tmp, architecture);
        await storeWeightsFile(tmp, dataRoot, file.sha256);
        const { weights, created } = await recordWeights(deps.db, req.team.id, { name, architecture, sha256: file.sha256, sizeBytes: file.size, tensorCount });
        return reply.status(created ? 201 : 200).send({ ...weights, created });
      } finally {
        await rm(tmp, { force: true });
      }
    });

    r.get("/weights", { schema: { querystring: ListQuery, tags: ["weights"], summary: "The team's pretrained weights, newest first" } }, async (req) => ({
      weights: await listWeights(deps.db, req.team.id, req.query.architecture),
    }));

    r.get("/weights/:id", { schema: { params: IdParams, tags: ["weights"], summary: "One of the team's pretrained weights" } }, async (req) => getWeights(deps.db, req.team.id, req.params.id));
  };
}

function parseArchitecture(value: string | undefined): Architecture {
  if (value === undefined) throw badRequest("missing the `architecture` field", [{ path: "architecture", message: `required: one of ${ARCHITECTURES.join(", ")}` }]);
  const a = Architecture.safeParse(value);
  if (!a.success) throw badRequest(`unknown architecture '${value}'`, [{ path: "architecture", message: `unknown architecture '${value}' (known: ${ARCHITECTURES.join(", ")})` }]);
  return a.data;
}

/** Reads the multipart stream: the fields (any order) and at most one file, streamed to `tmp`. */
async function receive(parts: AsyncIterableIterator<Multipart>, tmp: string, limit: number) {
  const fields: { architecture?: string; name?: string } = {};
  let file: { sha256: string; size: number } | null = null;
  for await (const part of parts) {
    if (part.type === "file") {
      if (part.fieldname !== "file") throw badRequest(`unknown file part '${part.fieldname}'`, [{ path: part.fieldname, message: "unknown field (the weights go in `file`)" }]);
      if (file) throw badRequest("send exactly one `file` part");
      file = await streamToFile(part.file, tmp);
      // Busboy stops at the limit and marks the stream truncated (it does not throw for streamed files).
      if (part.file.truncated) throw new HttpError(413, "TOO_LARGE", `the weights file exceeds the limit of ${limit} bytes (HYPERSWEEP_WEIGHTS_LIMIT)`);
    } else if (part.fieldname === "architecture" || part.fieldname === "name") {
      fields[part.fieldname] = String(part.value ?? "");
    } else {
      throw badRequest(`unknown field '${part.fieldname}'`, [{ path: part.fieldname, message: "unknown field" }]);
    }
  }
  return { fields, file };
}
