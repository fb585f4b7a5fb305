/**
 * `npm run demo` as a user runs it on a fresh machine: a real process that creates and migrates its database,
 * starts the API and a worker, creates its team through the admin HTTP route, uploads a dataset, runs the sweep
 * and the final training, and prints the leaderboard. A stand-in trainer keeps it to seconds (the real trainer
 * runs in CI's `npm run demo`).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "@hypersweep/db";
import { adminQuery, dbUrl, REDIS_URL } from "./helpers/pg-admin.ts";
import { FAKE_TRAINER, ROOT } from "./helpers/stack.ts";

const run = promisify(execFile);

describe("the demo app", () => {
  const name = `hs_demo_${randomBytes(4).toString("hex")}`;
  const tmp = mkdtempSync(join(tmpdir(), "hs-demo-"));
  afterAll(async () => {
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("creates its database and its team over HTTP, runs the sweep and the final training, prints the leaderboard", async () => {
    const r = await run("node", ["--import", "tsx", join(ROOT, "apps/demo/src/main.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: dbUrl(name),
        REDIS_URL,
        HYPERSWEEP_QUEUE_PREFIX: `hst-demo-${randomBytes(4).toString("hex")}`,
        HYPERSWEEP_DATA_DIR: join(tmp, "data"),
        HYPERSWEEP_CACHE_DIR: join(tmp, "cache"),
        HYPERSWEEP_RUNS_DIR: join(tmp, "runs"),
        HYPERSWEEP_TRAINER_CMD: FAKE_TRAINER,
        HYPERSWEEP_ADMIN_TOKEN: "",
        DEMO_IMAGES: "80",
        DEMO_EPOCHS: "2",
      },
    });
    expect(r.stdout).toMatch(/3\/7 team 'demo-[\w-]+' created; its API key: hs_/);
    expect(r.stdout).toContain("6/7 sweep succeeded");
    expect(r.stdout).toContain("Leaderboard (best per scenario × architecture):");
    expect(r.stdout).toMatch(/Done in \d+ s \(final trainings: 1\)/);
    // It ends with the sweep's report: the search grid and the final model's test metrics with intervals.
    expect(r.stdout).toContain("# Sweep report: demo: small CNN, CT, COVID-19 vs rest");
    expect(r.stdout).toMatch(/## Final models on the test set[\s\S]*\| small_cnn \| .*\(\d\.\d{3}–\d\.\d{3}\)/);
    // The database did not exist: the demo created and migrated it, and the team it printed is stored there.
    const db = createDb(dbUrl(name), { poolSize: 1 });
    try {
      const teams = await db.team.findMany();
      expect(teams.map((t) => t.name)).toEqual([r.stdout.match(/team '([^']+)'/)![1]]);
      expect(await db.trial.count({ where: { status: "succeeded" } })).toBe(5);
    } finally {
      await db.$disconnect();
    }
  }, 180_000);
});
