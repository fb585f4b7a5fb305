/**
 * A final model stored by the API (for nodes that share no filesystem): its files (the trainer's published
 * weightsPath and what it names beside it: a TensorFlow.js model.json and its weights.bin, or PyTorch's one
 * model.safetensors), each content-addressed by its sha256, listed in a manifest whose own sha256 is the model's
 * id. A result then records `models/<id>/<main file>` (relative to the data root) as its weightsPath: the API
 * serves it, a node with the shared volume reads it there, any other node fetches it.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in lowercase hex (64 characters)");
/** A file name of a stored model: no directories, no leading dot. */
export const ModelFileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "a file name: letters, digits, '.', '_', '-', no leading dot, at most 128 characters");

export const StoredModelFile = z.strictObject({ name: ModelFileName, sha256: SHA256, bytes: z.number().int().min(0) });

export const StoredModelManifest = z
  .strictObject({ main: ModelFileName, files: z.array(StoredModelFile).min(1).max(64) })
  .superRefine((m, ctx) => {
    const names = m.files.map((f) => f.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: ["files", i, "name"], message: `${n} is listed twice` });
    });
    if (!names.includes(m.main)) ctx.addIssue({ code: "custom", path: ["main"], message: `${m.main} is not among the files` });
  });
export type StoredModelManifest = z.output<typeof StoredModelManifest>;

/** The manifest's canonical text (files by name, fields in a fixed order): what the model's id hashes. */
export function modelManifestText(m: StoredModelManifest): string {
  const files = [...m.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes }));
  return JSON.stringify({ main: m.main, files });
}

/** The model's id: the sha256 of its canonical manifest. */
export function modelIdOf(m: StoredModelManifest): string {
  return createHash("sha256").update(modelManifestText(m)).digest("hex");
}

/** Where a stored model's file lives under the data root, and what a result records as its weightsPath. */
export function modelRelativePath(modelId: string, name: string): string {
  if (!/^[0-9a-f]{64}$/.test(modelId)) throw new Error(`not a model id: ${JSON.stringify(modelId)}`);
  return `models/${modelId}/${ModelFileName.parse(name)}`;
}

/**
 * The stored model a weightsPath names (`models/<id>/<name>`, relative, or resolved under some data root), or
 * null for a path a trainer published on its own node.
 */
export function parseModelPath(path: string): { modelId: string; name: string; relative: boolean } | null {
  const m = /(^|\/)models\/([0-9a-f]{64})\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/.exec(path);
  return m ? { modelId: m[2]!, name: m[3]!, relative: m[1] === "" } : null;
}
