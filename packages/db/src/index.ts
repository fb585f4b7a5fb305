export { createDb, type Db, type DbOptions } from "./client.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./team.repository.ts";
export * from "./sweep.repository.ts";
export * from "./lease.repository.ts";
export * from "./reconcile.repository.ts";
export * from "./best.repository.ts";
export type { Prisma } from "./generated/client.ts";
