/**
 * The one place where errors become HTTP answers. Every error answer has the same shape:
 * `{ error: CODE, message, issues?: [{ path, message }] }`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import type { ConfigError } from "@hypersweep/config";
import type { CoreErrorCode } from "@hypersweep/core";
import type { DataErrorCode } from "@hypersweep/data";
import { isConnectionError, type RepositoryErrorCode } from "@hypersweep/db";
import type { MetricErrorCode } from "@hypersweep/metrics";

export interface Issue {
  path: string;
  message: string;
}

/** Codes the HTTP layer itself answers with (each HttpError carries its own status). */
export type HttpErrorCode =
  | "INVALID" | "UNAUTHORIZED" | "NOT_FOUND" | "TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE" | "RATE_LIMITED" | "UNAVAILABLE" | "INTERNAL";

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: HttpErrorCode | ErrorCode | (string & {}),
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string, issues?: Issue[]) => new HttpError(400, "INVALID", message, issues);
export const unauthorized = (message = "missing or invalid API key") => new HttpError(401, "UNAUTHORIZED", message);
export const limitExceeded = (message: string) => new HttpError(429, "LIMIT_EXCEEDED", message);
export const unavailable = (what: string) => new HttpError(503, "UNAVAILABLE", `${what} is unavailable; try again shortly`);

/** Every stable code thrown below the HTTP layer: the union of what each package declares. */
export type ErrorCode = CoreErrorCode | DataErrorCode | RepositoryErrorCode | MetricErrorCode | ConfigError["code"];

/** A status for every code: a code added to a package's union without a status here does not compile. */
export type StatusMap = { readonly [C in ErrorCode]: number };

export const STATUS_BY_CODE = {
  NOT_FOUND: 404,
  INVALID: 400,
  SPEC_INVALID: 400,
  SCHEDULE_INVALID: 400,
  SCENARIO_INVALID: 400,
  DATASET_INVALID: 400,
  ARCHIVE_INVALID: 400,
  SPLIT_LEAKAGE: 400,
  // The data cannot give the metric (e.g. an AUC over a single class): understood, but not computable.
  METRIC_INPUT: 422,
  CONFLICT: 409,
  LEASE_LOST: 409,
  LIMIT_EXCEEDED: 429,
  // Server-side faults, answered without their details (which name server paths); the log has them.
  CACHE_INVALID: 500,
  CONFIG_INVALID: 500,
} as const satisfies StatusMap;

/** Own keys only: an error whose code is "constructor" or "toString" is no known code. */
export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(STATUS_BY_CODE, code);

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === "string" ? c : undefined;
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = (err as { validationContext?: string }).validationContext ?? "body";
    const expanded: Issue[] = [];
    for (const v of err.validation) {
      const at = String(v.instancePath ?? "").replace(/^\//, "").replaceAll("/", ".");
      const base = [context === "body" ? "" : context, at].filter(Boolean).join(".");
      const keys = (v.params as { keys?: string[] })?.keys;
      if (v.keyword === "unrecognized_keys" && keys?.length) {
        for (const k of keys) expanded.push({ path: base ? `${base}.${k}` : k, message: "unknown field" });
      } else expanded.push({ path: base || context, message: v.message ?? "invalid" });
    }
    return new HttpError(400, "INVALID", `invalid request ${context}: ${expanded.map((i) => `${i.path}: ${i.message}`).join("; ")}`, expanded);
  }
  const fe = err as FastifyError;
  if (fe?.code === "FST_ERR_CTP_BODY_TOO_LARGE" || fe?.statusCode === 413) {
    return new HttpError(413, "TOO_LARGE", fe.message || "request body is too large");
  }
  if (fe?.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" || fe?.statusCode === 415) {
    return new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", fe.message);
  }
  if (fe?.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || fe?.code === "FST_ERR_CTP_INVALID_JSON_BODY" || (fe?.statusCode === 400 && !codeOf(err)?.match(/^[A-Z_]+$/))) {
    return new HttpError(400, "INVALID", fe.message || "malformed request");
  }
  if (isConnectionError(err)) return unavailable("the database");
  if (isRedisUnavailable(err)) return unavailable("the queue (Redis)");
  const code = codeOf(err);
  if (code && isErrorCode(code)) {
    const status = STATUS_BY_CODE[code];
    if (status >= 500) return new HttpError(status, code, `internal error (${code})`);
    const issues = (err as { issues?: Issue[] }).issues;
    return new HttpError(status, code, (err as Error).message, Array.isArray(issues) ? issues : undefined);
  }
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HttpError(fe.statusCode, fe.code ?? "INVALID", fe.message);
  }
  return new HttpError(500, "INTERNAL", "internal error");
}

export function isRedisUnavailable(err: unknown): boolean {
  const msg = (err as Error)?.message ?? "";
  return /Stream isn't writeable|enableOfflineQueue|Connection is closed|ECONNREFUSED.*6379|Reached the max retries per request|ETIMEDOUT|connect ECONNREFUSED/i.test(msg);
}

/** An absolute server path (two or more segments, not an API route): what the caller gets is its last segment. */
const SERVER_PATH = /(?<![\w.~/-])\/(?!v1\/)(?:[^\s/'"`<>|,;:()[\]{}]+\/)+[^\s/'"`<>|,;:()[\]{}]*/g;

/** Keeps the server's directory layout out of answers: "cannot unpack /srv/data/tmp/u-1/upload.zip" → "… upload.zip". */
export function hidePaths(message: string): string {
  return message.replace(SERVER_PATH, (path) => path.split("/").filter(Boolean).pop() ?? "");
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const http = toHttpError(err);
  if (http.statusCode >= 500) req.log.error({ err }, "request failed");
  else if (hidePaths(http.message) !== http.message) req.log.info({ err }, "answered without server paths");
  const issues = http.issues?.map((i) => ({ path: hidePaths(i.path), message: hidePaths(i.message) }));
  // A passing outage (Postgres or Redis away, or Postgres at its connection limit): say when to come back.
  if (http.statusCode === 503) void reply.header("retry-after", "2");
  void reply.status(http.statusCode).send({ error: http.code, message: hidePaths(http.message), ...(issues ? { issues } : {}) });
}
