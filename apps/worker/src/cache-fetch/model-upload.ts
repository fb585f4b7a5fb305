/**
 * A final model leaves the node that trained it: the files the trainer published (its weightsPath, and for a
 * TensorFlow.js model.json the weight files it names beside it) are uploaded to the API, content-addressed, then
 * their manifest; the result then records the stored model's address (`models/<id>/<main file>`). Every upload
 * names the attempt that trained the model: the API stores nothing for an attempt that no longer holds its trial.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { modelIdOf, ModelFileName, modelRelativePath, type StoredModelManifest } from "@hypersweep/core";
import { sha256File } from "@hypersweep/data";
import { CacheFetchError, type WorkerApi } from "./download.ts";

/** The files of the model at `weightsPath`: the file itself, plus the weight files a model.json lists. */
export async function publishedModelFiles(weightsPath: string): Promise<string[]> {
  const names = [basename(weightsPath)];
  if (weightsPath.endsWith(".json")) {
    const json = JSON.parse(await readFile(weightsPath, "utf8")) as { weightsManifest?: Array<{ paths?: string[] }> };
    // Paths relative to model.json ("./weights.bin" as TensorFlow.js writes them): files beside it.
    for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths ?? []).map((x) => posix.normalize(x))) if (!names.includes(p)) names.push(p);
  }
  for (const n of names) {
    if (!ModelFileName.safeParse(n).success) throw new CacheFetchError(`the model at ${basename(weightsPath)} names a file ${JSON.stringify(n)} that is not a plain file name beside it`);
  }
  return names.map((n) => join(dirname(weightsPath), n));
}

/** The attempt whose final training published the model. */
export interface ModelOwner {
  trialId: string;
  attempt: number;
}

/**
 * Uploads the model at `weightsPath` for `owner` (idempotent: the same content again is accepted) and answers its
 * address. Refused (HTTP 409) once the attempt no longer holds its trial's lease.
 */
export async function uploadModel(api: WorkerApi, weightsPath: string, owner: ModelOwner, signal?: AbortSignal): Promise<{ address: string; manifest: StoredModelManifest }> {
  const paths = await publishedModelFiles(weightsPath);
  const files = await Promise.all(paths.map(async (p) => ({ name: basename(p), sha256: await sha256File(p), bytes: (await stat(p)).size })));
  const manifest: StoredModelManifest = { main: basename(weightsPath), files };
  const id = modelIdOf(manifest);
  const query = new URLSearchParams({ trialId: owner.trialId, attempt: String(owner.attempt) });
  for (const [i, f] of files.entries()) await api.put(`/v1/worker/models/${id}/${f.name}?${query}`, { file: paths[i]!, sha256: f.sha256 }, signal);
  await api.put(`/v1/worker/models/${id}?${query}`, { json: manifest }, signal);
  return { address: modelRelativePath(id, manifest.main), manifest };
}
