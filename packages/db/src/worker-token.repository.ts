/**
 * Worker tokens: what a worker node presents to the API's /v1/worker routes. A token names a node (or a group of
 * nodes), never a team. Tokens are random (192 bits), stored as sha256 hashes and shown once.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "./client.ts";
import { NotFoundError } from "./errors.ts";

/** Every worker token starts so; team API keys start with `hs_`. */
export const WORKER_TOKEN_PREFIX = "hsw_";

export function hashWorkerToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface WorkerTokenRow {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const COLUMNS = `id::text, name, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`;

export async function createWorkerToken(db: Db, name: string): Promise<WorkerTokenRow & { token: string }> {
  const token = `${WORKER_TOKEN_PREFIX}${randomBytes(24).toString("base64url")}`;
  const { rows } = await db.pool.query<WorkerTokenRow>(
    `INSERT INTO worker_tokens (id, name, token_hash) VALUES (gen_random_uuid(), $1, $2) RETURNING ${COLUMNS}`,
    [name, hashWorkerToken(token)],
  );
  return { ...rows[0]!, token };
}

/** Every token, newest first, revoked ones too (with when). Never the token itself. */
export async function listWorkerTokens(db: Db): Promise<WorkerTokenRow[]> {
  const { rows } = await db.pool.query<WorkerTokenRow>(`SELECT ${COLUMNS} FROM worker_tokens ORDER BY created_at DESC, id`);
  return rows;
}

/** Revokes a token (idempotent: revoking twice keeps the first time). Unknown id: NotFoundError. */
export async function revokeWorkerToken(db: Db, id: string): Promise<WorkerTokenRow> {
  const { rows } = await db.pool.query<WorkerTokenRow>(
    `UPDATE worker_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1::uuid RETURNING ${COLUMNS}`,
    [id],
  );
  if (!rows[0]) throw new NotFoundError("worker token", id);
  return rows[0];
}

/**
 * The live token with this value, or null (unknown or revoked). Marks it used: one statement that looks it up
 * and sets last_used_at.
 */
export async function useWorkerToken(db: Db, token: string): Promise<{ id: string; name: string } | null> {
  const { rows } = await db.pool.query<{ id: string; name: string }>(
    `UPDATE worker_tokens SET last_used_at = now() WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id::text, name`,
    [hashWorkerToken(token)],
  );
  return rows[0] ?? null;
}
