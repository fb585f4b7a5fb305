import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.ts";

/**
 * Prisma for most reads and writes, plus the node-postgres pool beneath it for the hot paths (the lease
 * protocol, best-config queries, key lookups): Prisma's JavaScript engine costs a few milliseconds per query
 * on this hardware against ~0.5 ms for the same statement sent directly (BENCHMARKS.md). Both share one pool.
 */
export type Db = PrismaClient & {
  readonly pool: pg.Pool;
  /**
   * Connections whose commits do not wait for the WAL flush (synchronous_commit = off), for per-epoch progress
   * only. An epoch row is progress, not a result: the result transaction (durable) writes the trial's whole epoch
   * history again, so an epoch lost to a Postgres crash inside the ~200 ms flush window is restored with it.
   */
  readonly progressPool: pg.Pool;
};

export interface DbOptions {
  /** Connections in the pool. @defaultValue 10 */
  poolSize?: number;
}

export function createDb(url: string, opts: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    allowExitOnIdle: true,
  });
  // An idle connection that dies (Postgres restarting) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  const progressPool = new pg.Pool({
    connectionString: url,
    max: Math.max(2, Math.ceil((opts.poolSize ?? 10) / 2)),
    connectionTimeoutMillis: 5_000,
    allowExitOnIdle: true,
    options: "-c synchronous_commit=off",
  });
  progressPool.on("error", () => {});
  const client = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  const disconnect = client.$disconnect.bind(client);
  return Object.assign(client, {
    pool,
    progressPool,
    $disconnect: async () => {
      await disconnect();
      await progressPool.end().catch(() => {});
    },
  }) as Db;
}

/** Runs `fn` in one transaction on one pooled connection (READ COMMITTED). */
export async function inTransaction<T>(db: Db, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await db.pool.connect();
  try {
    await c.query("BEGIN");
    const out = await fn(c);
    await c.query("COMMIT");
    return out;
  } catch (err) {
    await c.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}
