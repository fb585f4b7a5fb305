/**
 * Sends an immutable, content-addressed file: a strong ETag (the content's hash), `Accept-Ranges: bytes`, one
 * byte range per request (`Range: bytes=a-b`, `a-`, `-n`) answered 206 with `Content-Range`, `If-Range` (a range
 * only while the ETag still matches, else the whole file), `If-None-Match` (304), and 416 for a range past the
 * end. Several ranges in one request are answered with the whole file (RFC 9110 allows it). The body is a file
 * stream: memory stays bounded whatever the file's size.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { FastifyReply, FastifyRequest } from "fastify";

export type ByteRange = { start: number; end: number } | "unsatisfiable" | null;

/** The one range a Range header asks of a `size`-byte file; null for none (or for several, or a malformed one). */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  if (end < start) return null;
  return { start, end };
}

export async function sendImmutableFile(req: FastifyRequest, reply: FastifyReply, path: string, hash: string, contentType = "application/octet-stream") {
  const { size } = await stat(path);
  const etag = `"${hash}"`;
  void reply.header("etag", etag).header("accept-ranges", "bytes").header("cache-control", "private, max-age=31536000, immutable");
  const inm = req.headers["if-none-match"];
  if (inm && inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")) return reply.status(304).send();
  const ifRange = req.headers["if-range"];
  const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, size) : null;
  if (range === "unsatisfiable") {
    return reply.status(416).header("content-range", `bytes */${size}`).send({ error: "RANGE_NOT_SATISFIABLE", message: `the range ${req.headers.range} starts past the end of the file (${size} bytes)` });
  }
  void reply.type(contentType);
  if (range) {
    void reply.status(206).header("content-range", `bytes ${range.start}-${range.end}/${size}`).header("content-length", range.end - range.start + 1);
    return reply.send(req.method === "HEAD" ? "" : createReadStream(path, { start: range.start, end: range.end }));
  }
  void reply.header("content-length", size);
  return reply.send(req.method === "HEAD" ? "" : createReadStream(path));
}
