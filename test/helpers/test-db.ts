import { randomBytes } from "node:crypto";
import { adminQuery, dbUrl, templateName } from "./pg-admin.ts";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database for one test file, cloned from the migrated template. */
export async function createTestDatabase(label = "t"): Promise<TestDatabase> {
  const name = `hs_${label.replace(/[^a-z0-9]/gi, "").toLowerCase().slice(0, 20)}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${templateName()}"`);
  return {
    name,
    url: dbUrl(name),
    drop: async () => {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** A queue prefix of its own for one test file, so files never see each other's jobs. */
export function testQueuePrefix(label = "t"): string {
  return `hst-${label}-${randomBytes(4).toString("hex")}`;
}
