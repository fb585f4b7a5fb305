/**
 * The connection options of the commands that upload (`--url`, `--api-key`, with their environment variables),
 * and the upload itself, which streams one file to the API as multipart/form-data (small fields first, then the file), with an optional
 * progress bar on stderr, so neither side holds the file in memory.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Readable } from "node:stream";
import cliProgress from "cli-progress";
import { Command, Option } from "commander";
import { ApiError } from "./client.ts";

export function connection(cmd: Command): { url: string; apiKey?: string } {
  const o = cmd.optsWithGlobals() as { url?: string; apiKey?: string };
  return { url: o.url ?? "http://127.0.0.1:8080", apiKey: o.apiKey };
}

export const connectionOptions = (c: Command) =>
  c
    .addOption(new Option("--url <url>", "API address").env("HYPERSWEEP_URL").default("http://127.0.0.1:8080"))
    .addOption(new Option("--api-key <key>", "your team's API key").env("HYPERSWEEP_API_KEY"));

export interface UploadOptions {
  url: string;
  apiKey?: string;
  /** Show a progress bar on stderr. @defaultValue true */
  progress?: boolean;
}

/** POSTs `fields` then `file` (as the part `file`) to `path`; resolves with the JSON answer, throws ApiError on rejection. */
export async function uploadMultipart(path: string, fields: Record<string, string>, file: string, o: UploadOptions): Promise<any> {
  const size = (await stat(file)).size;
  const boundary = `----hypersweep${Math.random().toString(16).slice(2)}`;
  const head =
    Object.entries(fields).map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join("") +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${basename(file).replace(/["\r\n]/g, "")}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const bar = o.progress === false ? null : new cliProgress.SingleBar({ format: "upload [{bar}] {percentage}% | {value}/{total} MB", stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar?.start(Math.max(0.01, Math.round(size / 1e4) / 100), 0);
  let sent = 0;
  async function* body() {
    yield Buffer.from(head);
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      sent += (chunk as Buffer).length;
      bar?.update(Math.round(sent / 1e4) / 100);
      yield chunk as Buffer;
    }
    yield Buffer.from(tail);
    bar?.stop();
    if (o.progress !== false) process.stderr.write("uploaded; validating on the server…\n");
  }
  let res: Response;
  try {
    res = await fetch(new URL(path, o.url), {
      method: "POST",
      headers: {
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": String(Buffer.byteLength(head) + size + Buffer.byteLength(tail)),
        ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
      },
      body: Readable.toWeb(Readable.from(body())) as ReadableStream,
      duplex: "half",
    } as RequestInit);
  } catch (err) {
    bar?.stop();
    throw new ApiError(0, "UNREACHABLE", `cannot reach the Hypersweep API at ${o.url}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let data: any;
  try {
    data = JSON.parse(text);
  } catch {
    data = { message: text.slice(0, 300) };
  }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? "HTTP_ERROR", data?.message ?? `HTTP ${res.status}`, data?.issues ?? []);
  return data;
}
