/**
 * The one place where errors become HTTP answers. Every error answer has the same shape:
 * `{ error: CODE, message, issues?: [{ path, message }] }`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { isConnectionError } from "@hypersweep/db";

export interface Issue {
  path: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string, issues?: Issue[]) => new HttpError(400, "INVALID", message, issues);
export const unauthorized = (message = "missing or invalid API key") => new HttpError(401, "UNAUTHORIZED", message);
export const unavailable = (what: string) => new HttpError(503, "UNAVAILABLE", `${what} is unavailable; try again shortly`);

/** Status for each stable error code thrown below the HTTP layer (repositories, core, data). */
const STATUS_BY_CODE: Record<string, number> = {
  NOT_FOUND: 404,
  INVALID: 400,
  SPEC_INVALID: 400,
  SCENARIO_INVALID: 400,
  DATASET_INVALID: 400,
  MANIFEST_INVALID: 400,
  ARCHIVE_INVALID: 400,
  SPLIT_LEAKAGE: 400,
  CONFLICT: 409,
  LEASE_LOST: 409,
  UNAUTHORIZED: 401,
  UNAVAILABLE: 503,
};

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
  if (code && STATUS_BY_CODE[code]) {
    const issues = (err as { issues?: Issue[] }).issues;
    return new HttpError(STATUS_BY_CODE[code], code, (err as Error).message, Array.isArray(issues) ? issues : undefined);
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

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const http = toHttpError(err);
  if (http.statusCode >= 500) req.log.error({ err }, "request failed");
  void reply.status(http.statusCode).send({ error: http.code, message: http.message, ...(http.issues ? { issues: http.issues } : {}) });
}
