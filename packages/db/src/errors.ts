/** Every code the repositories' errors carry (the API maps each to a status; the compiler checks that map). */
export type RepositoryErrorCode = "NOT_FOUND" | "LEASE_LOST" | "INVALID" | "CONFLICT" | "LIMIT_EXCEEDED";

/** Errors the repositories throw; the API maps each code to a status in one place (apps/api/src/errors.ts). */
export class RepositoryError extends Error {
  constructor(
    readonly code: RepositoryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Not found, or owned by another team: the caller cannot tell the two apart. */
export class NotFoundError extends RepositoryError {
  constructor(what: string, id: string) {
    super("NOT_FOUND", `${what} '${id}' not found`);
  }
}

/** A write from an attempt that no longer holds the trial's lease: refused, so no result is recorded twice. */
export class LeaseLostError extends RepositoryError {
  constructor(
    readonly trialId: string,
    readonly attempt: number,
  ) {
    super("LEASE_LOST", `attempt ${attempt} of trial ${trialId} no longer holds the lease`);
  }
}

export class InvalidRequestError extends RepositoryError {
  constructor(
    message: string,
    readonly issues: Array<{ path: string; message: string }> = [],
  ) {
    super("INVALID", message);
  }
}

export class ConflictError extends RepositoryError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

/** A team would go beyond one of its limits; `current` is what it holds now, `adding` what the request asks for. */
export class LimitError extends RepositoryError {
  constructor(
    readonly limit: number,
    readonly current: number,
    readonly adding: number,
    message: string,
  ) {
    super("LIMIT_EXCEEDED", message);
  }
}

/**
 * True when an error means Postgres could not be reached or will not take a connection now (as opposed to a bad
 * query): refused, reset, timed out, shutting down, or at its connection limit ("too many clients", 53300).
 */
export function isConnectionError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const o = e as { code?: unknown; message?: unknown; cause?: unknown; kind?: unknown };
    const code = typeof o.code === "string" ? o.code : "";
    const msg = typeof o.message === "string" ? o.message : "";
    if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "P1001", "P1002", "P1017", "P2024", "57P01", "57P03", "08006", "08003", "08001", "53300"].includes(code)) return true;
    if (/ECONNREFUSED|ECONNRESET|Connection terminated|connection timeout|timeout exceeded when trying to connect|Can't reach database|terminating connection|Client has encountered a connection error|DatabaseNotReachable|socket hang up|too many (clients|connections)|remaining connection slots/i.test(msg)) return true;
    e = o.cause;
  }
  return false;
}
