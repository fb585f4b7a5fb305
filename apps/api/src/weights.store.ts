/**
 * Receiving pretrained weights: the uploaded .safetensors is streamed to a temporary file under the data root
 * (hashed on the way, size-capped by multipart), then only its header is read and checked against the
 * architecture's torchvision tensors (packages/core's table: no tfjs here), and the file is moved to its
 * content address `weights/<sha256>.safetensors`. Memory stays bounded by the header, whatever the upload.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  checkPretrainedTensors, checkSafetensorsCoverage, parseSafetensorsHeader, safetensorsHeaderLength, SafetensorsError,
  weightsRelativePath, type Architecture,
} from "@hypersweep/core";
import { badRequest } from "./errors.ts";

/** Streams `source` to `file`, returning its sha256 and size. */
export async function streamToFile(source: Readable, file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await mkdir(dirname(file), { recursive: true });
  await pipeline(source, tap, createWriteStream(file));
  return { sha256: hash.digest("hex"), size };
}

async function readAt(file: string, position: number, length: number): Promise<Uint8Array> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

const invalidFile = (message: string) => badRequest(`the weights file does not fit: ${message}`, [{ path: "file", message }]);

/**
 * Checks a stored upload against `architecture`: a well-formed safetensors header whose tensors tile the file,
 * and the architecture's tensor names and shapes (400 naming the first tensor that does not fit). Returns the
 * number of tensors.
 */
export async function checkWeightsFile(file: string, architecture: Architecture): Promise<number> {
  const { size } = await stat(file);
  try {
    const n = safetensorsHeaderLength(await readAt(file, 0, 8));
    if (8 + n > size) throw new SafetensorsError(`header length ${n} exceeds the file (${size} bytes)`);
    const header = parseSafetensorsHeader(await readAt(file, 8, n), size - 8 - n);
    checkSafetensorsCoverage(header, size - 8 - n);
    const mismatch = checkPretrainedTensors(architecture, header.tensors);
    if (mismatch) throw invalidFile(mismatch.message);
    return header.tensors.length;
  } catch (err) {
    if (err instanceof SafetensorsError) throw invalidFile(`not a valid safetensors file: ${err.message}`);
    throw err;
  }
}

/** Moves a checked upload to its content address (an identical file already there is kept). */
export async function storeWeightsFile(tmpFile: string, dataRoot: string, sha256: string): Promise<string> {
  const target = join(dataRoot, weightsRelativePath(sha256));
  await mkdir(dirname(target), { recursive: true });
  const existing = await stat(target).catch(() => null);
  if (existing) await rm(tmpFile, { force: true });
  else await rename(tmpFile, target);
  return target;
}
