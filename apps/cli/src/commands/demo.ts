/**
 * `hypersweep demo` — the main job, end to end on this machine: migrate the database, start the API and a
 * worker, create a team, synthesise and import a small Data-Stock-shaped dataset, submit a sweep of the
 * paper's protocol at demo scale (real TensorFlow.js training of the small architecture), follow it with
 * progress bars, print the trials and the leaderboard, then retrain the winner (final training, early stopping)
 * and score it on the test set with bootstrap intervals.
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { parseEnv, commonEnv } from "@hypersweep/config";
import { createDb, createTeam } from "@hypersweep/db";
import { synthDataset } from "@hypersweep/data";
import { z } from "zod";
import { startApi } from "../../../api/src/main.ts";
import { startWorker, REPO_ROOT } from "../../../worker/src/main.ts";
import { HypersweepClient } from "../client.ts";
import { importViaApi } from "./datasets.ts";
import { leaderboardTable, trialsTable, withInterval } from "../render.ts";
import { watchSweep } from "./watch.ts";

const demoEnv = z.object({
  ...commonEnv,
  /** Images in the synthetic dataset. */
  DEMO_IMAGES: z.coerce.number().int().min(40).default(600),
  /** Search epochs per trial. */
  DEMO_EPOCHS: z.coerce.number().int().min(1).default(4),
  /** Image side after preprocessing. */
  DEMO_IMAGE_SIZE: z.coerce.number().int().min(16).default(32),
});

export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!r.rowCount) await c.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } finally {
    await c.end();
  }
}

export function migrate(url: string): void {
  execFileSync("npx", ["prisma", "migrate", "deploy"], { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: url, CHECKPOINT_DISABLE: "1" }, stdio: ["ignore", "ignore", "inherit"] });
}

const say = (s: string) => process.stdout.write(`${s}\n`);

export async function runDemo(env: Record<string, string | undefined> = process.env): Promise<number> {
  const cfg = parseEnv(demoEnv, env);
  const started = Date.now();
  say("Hypersweep demo: a random search of the Data Stock protocol, at demo scale, on this machine.\n");
  say(`1/7 database ${cfg.DATABASE_URL.replace(/:[^:@/]*@/, ":***@")}: creating if missing, migrating`);
  await ensureDatabase(cfg.DATABASE_URL);
  migrate(cfg.DATABASE_URL);

  const concurrency = String(Math.max(1, Math.min(2, cpus().length)));
  const shared = { ...env, PORT: env.PORT ?? "0", HYPERSWEEP_CONCURRENCY: env.HYPERSWEEP_CONCURRENCY ?? concurrency, LOG_LEVEL: env.LOG_LEVEL ?? "warn" };
  const api = await startApi(shared);
  const worker = await startWorker(shared);
  say(`2/7 API at ${api.address} (docs at ${api.address}/docs); worker ${worker.node.id} with ${shared.HYPERSWEEP_CONCURRENCY} trainer process(es)`);

  const db = createDb(cfg.DATABASE_URL, { poolSize: 2 });
  try {
    const { team, apiKey } = await createTeam(db, `demo-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    say(`3/7 team '${team.name}' created; its API key: ${apiKey}`);

    const synthDir = resolve(".hypersweep/demo", `synth-${cfg.DEMO_IMAGES}`);
    await synthDataset(synthDir, { images: cfg.DEMO_IMAGES, size: 48, seed: 1 });
    const imported = await importViaApi(synthDir, { url: api.address, apiKey, name: "data-stock-synthetic", progress: false });
    const ds = imported.dataset as { id: string; name: string };
    say(`4/7 dataset '${ds.name}': ${imported.version.imageCount} synthetic CT and radiograph images uploaded and imported (version ${String(imported.version.contentHash).slice(0, 12)})`);

    const client = new HypersweepClient({ url: api.address, apiKey });
    const body = {
      name: "demo: small CNN, CT, COVID-19 vs rest",
      dataset: ds.id,
      scenario: { modality: "ct", task: "binary" },
      architectures: ["small_cnn"],
      seed: 2020,
      overrides: { learningRates: [1e-2, 1e-3], subsetsPerRate: 2, searchEpochs: cfg.DEMO_EPOCHS, finalEpochs: 3 * cfg.DEMO_EPOCHS, patience: 3, imageSize: cfg.DEMO_IMAGE_SIZE, batchSize: 16 },
    };
    const sweep = await client.request("POST", "/v1/sweeps", body);
    say(`5/7 sweep ${sweep.id}: ${sweep.trialCount} trials (2 learning rates × 2 sampled augmentation subsets), plan ${sweep.planHash.slice(0, 12)}`);
    const status = await watchSweep(client, sweep.id);

    const { trials } = await client.request("GET", `/v1/sweeps/${sweep.id}/trials`);
    say(`\n6/7 search ${status} in ${Math.round((Date.now() - started) / 1000)} s\n`);
    say(trialsTable(trials));
    if (status !== "succeeded") return 1;

    const final = await client.request("POST", `/v1/sweeps/${sweep.id}/final`, {});
    say(`\n7/7 final training of the winner (up to ${3 * cfg.DEMO_EPOCHS} epochs, early stopping), then the test set`);
    const finalStatus = await watchSweep(client, sweep.id);
    const board = await client.request("GET", `/v1/leaderboard?dataset=${ds.id}`);
    say("\nLeaderboard (best per scenario × architecture):");
    say(leaderboardTable(board.rows));
    const best = await client.request("GET", `/v1/best?dataset=${ds.id}&scenario=ct/binary&architecture=small_cnn`);
    if (best.winner) {
      const w = best.winner;
      say(`\nBest configuration (${best.decidedBy}): lr ${w.learningRate}, augmentations [${w.augmentations.join(", ") || "none"}], val AUC ${w.valAuc?.toFixed(3)}, epoch ${w.bestEpoch}`);
      const test = w.final?.metrics?.test;
      if (test) say(`Retrained and scored on the held-out test set (n = ${test.n}): AUC ${withInterval(test, "auc")}, F1 ${withInterval(test, "f1")}, accuracy ${withInterval(test, "accuracy")}`);
      else if (w.final) say(`Final training ${w.final.status}${w.final.error ? `: ${w.final.error}` : ""}`);
    }
    say(`\nDone in ${Math.round((Date.now() - started) / 1000)} s (final trainings: ${final.trials.length}).`);
    return finalStatus === "succeeded" ? 0 : 1;
  } finally {
    await db.$disconnect();
    await worker.close();
    await api.close();
  }
}
