import { createHash, randomBytes } from "node:crypto";
import type { Db } from "./client.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

/** sha256 of the whole key: keys are random (190 bits), so a fast hash is enough and lookups stay O(1). */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function generateApiKey(): { key: string; prefix: string } {
  const prefix = randomBytes(4).toString("hex");
  return { key: `hs_${prefix}_${randomBytes(24).toString("base64url")}`, prefix };
}

export interface CreatedTeam {
  team: { id: string; name: string; createdAt: Date };
  /** Shown once; only its hash is stored. */
  apiKey: string;
}

export async function createTeam(db: Db, name: string): Promise<CreatedTeam> {
  const existing = await db.team.findUnique({ where: { name } });
  if (existing) throw new ConflictError(`team '${name}' already exists`);
  const { key, prefix } = generateApiKey();
  const team = await db.team.create({
    data: { name, apiKeys: { create: { prefix, hash: hashApiKey(key) } } },
  });
  return { team: { id: team.id, name: team.name, createdAt: team.createdAt }, apiKey: key };
}

export type KeyScope = "read" | "write";

export async function createApiKey(db: Db, teamId: string, name = "default", scope: KeyScope = "write"): Promise<{ id: string; apiKey: string; scope: KeyScope }> {
  const team = await db.team.findUnique({ where: { id: teamId } });
  if (!team) throw new NotFoundError("team", teamId);
  const { key, prefix } = generateApiKey();
  const row = await db.apiKey.create({ data: { teamId, name, prefix, hash: hashApiKey(key), scope } });
  return { id: row.id, apiKey: key, scope };
}

/** The team a key belongs to and the key's scope, or null for an unknown or revoked key. */
export async function findTeamByApiKey(db: Db, key: string): Promise<{ id: string; name: string; scope: KeyScope } | null> {
  const { rows } = await db.pool.query<{ id: string; name: string; scope: KeyScope }>(
    `SELECT t.id::text, t.name, k.scope FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.hash = $1 AND k.revoked_at IS NULL`,
    [hashApiKey(key)],
  );
  return rows[0] ?? null;
}

export async function listTeams(db: Db): Promise<Array<{ id: string; name: string; createdAt: Date }>> {
  return db.team.findMany({ orderBy: { createdAt: "asc" }, select: { id: true, name: true, createdAt: true } });
}
