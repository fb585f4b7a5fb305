import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.ts";

export type Db = PrismaClient;

export interface DbOptions {
  /** Connections in the pool. @defaultValue 10 */
  poolSize?: number;
}

/** A Prisma client over node-postgres (Prisma's JavaScript engine: nothing native, nothing downloaded). */
export function createDb(url: string, opts: DbOptions = {}): Db {
  const adapter = new PrismaPg({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    allowExitOnIdle: true,
  });
  return new PrismaClient({ adapter });
}
