import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

/** Where the tests find Postgres: the server on this machine unless TEST_PG_URL says otherwise. */
export const PG_BASE_URL = process.env.TEST_PG_URL ?? "postgresql://root@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function dbUrl(database: string): string {
  const u = new URL(PG_BASE_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The template database's name changes whenever a migration does, so a stale template is never reused. */
export function templateName(root = process.cwd()): string {
  const dir = join(root, "prisma", "migrations");
  const h = createHash("sha256");
  for (const d of readdirSync(dir).sort()) {
    if (d.endsWith(".toml")) continue;
    h.update(d);
    h.update(readFileSync(join(dir, d, "migration.sql")));
  }
  return `hs_tpl_${h.digest("hex").slice(0, 12)}`;
}

export async function adminQuery(sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_BASE_URL });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}
