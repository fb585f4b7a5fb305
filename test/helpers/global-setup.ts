import { execFileSync } from "node:child_process";
import { adminQuery, dbUrl, templateName } from "./pg-admin.ts";

/** Migrates one template database per migration set, once; every test file clones it (fast). */
export default async function setup(): Promise<void> {
  const name = templateName();
  const exists = await adminQuery(`SELECT 1 FROM pg_database WHERE datname = '${name}'`);
  if (exists.rowCount) return;
  const building = `${name}_build_${process.pid}`;
  await adminQuery(`DROP DATABASE IF EXISTS "${building}"`);
  await adminQuery(`CREATE DATABASE "${building}"`);
  execFileSync("npx", ["prisma", "migrate", "deploy"], {
    env: { ...process.env, DATABASE_URL: dbUrl(building), CHECKPOINT_DISABLE: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  // Rename into place atomically, so a concurrent run never clones a half-migrated template.
  try {
    await adminQuery(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
  } catch {
    await adminQuery(`DROP DATABASE IF EXISTS "${building}"`);
  }
}
