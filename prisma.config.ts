import { defineConfig } from "prisma/config";
import { migrationAdapter } from "./packages/db/src/migration-adapter.ts";

// Prisma 6 with its JavaScript engine runs offline: no native engine is downloaded. The adapter used by the
// migrate commands works around adapter-pg defects (see packages/db/src/migration-adapter.ts).
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  adapter: async () => migrationAdapter(process.env.DATABASE_URL ?? ""),
});
