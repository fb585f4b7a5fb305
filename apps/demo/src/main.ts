/**
 * `npm run demo` — the main job, end to end on this machine: migrate the database, start the API and a worker
 * (in this process; the worker runs each trial in its own trainer process), create a team through the admin HTTP
 * route, synthesise and upload a small Data-Stock-shaped dataset, submit a sweep of the paper's protocol at demo
 * scale (real TensorFlow.js training of the small architecture), follow both of its stages with progress bars
 * (the search, then the final stage that runs by itself: the winner retrained with early stopping and scored on
 * the test set with bootstrap intervals), and print the trials, the leaderboard and the winner's test metrics.
 * Everything after the start speaks HTTP, as a user's client would.
 */
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { parseEnv, commonEnv } from "@hypersweep/config";
import { ensureDatabase, migrateDatabase } from "@hypersweep/db";
import { synthDataset } from "@hypersweep/data";
import { startApi } from "@hypersweep/api";
import { startWorker } from "@hypersweep/worker";
import { fetchReport, HypersweepClient, importViaApi, leaderboardTable, trialsTable, watchSweep, withInterval } from "@hypersweep/cli";
import { ensureDashboardBuilt } from "@hypersweep/dashboard";

const demoEnv = z.object({
  ...commonEnv,
  /** Images in the synthetic dataset. */
  DEMO_IMAGES: z.coerce.number().int().min(40).default(600),
  /** Search epochs per trial. */
  DEMO_EPOCHS: z.coerce.number().int().min(1).default(4),
  /** Image side after preprocessing. */
  DEMO_IMAGE_SIZE: z.coerce.number().int().min(16).default(32),
});

const say = (s: string) => process.stdout.write(`${s}\n`);

/** `--serve`: keep the API (and its dashboard) and the worker running after the demo, until Ctrl-C. */
export async function runDemo(env: Record<string, string | undefined> = process.env, opts: { serve?: boolean } = {}): Promise<number> {
  const cfg = parseEnv(demoEnv, env);
  const started = Date.now();
  say("Hypersweep demo: a random search of the Data Stock protocol, at demo scale, on this machine.\n");
  say(`1/7 database ${cfg.DATABASE_URL.replace(/:[^:@/]*@/, ":***@")}: creating if missing, migrating`);
  await ensureDatabase(cfg.DATABASE_URL);
  migrateDatabase(cfg.DATABASE_URL);

  const concurrency = String(Math.max(1, Math.min(2, cpus().length)));
  // The demo is its own operator: a one-off admin token unless one is given.
  const adminToken = env.HYPERSWEEP_ADMIN_TOKEN || randomBytes(24).toString("hex");
  if (await ensureDashboardBuilt()) say("   dashboard built (apps/dashboard/dist)");
  // Served for a person to open: a fixed port; otherwise any free one.
  const shared = { ...env, PORT: env.PORT ?? (opts.serve ? "8080" : "0"), HYPERSWEEP_ADMIN_TOKEN: adminToken, HYPERSWEEP_CONCURRENCY: env.HYPERSWEEP_CONCURRENCY ?? concurrency, LOG_LEVEL: env.LOG_LEVEL ?? "warn" };
  const api = await startApi(shared);
  const worker = await startWorker(shared).catch(async (err) => {
    await api.close();
    throw err;
  });
  say(`2/7 API at ${api.address} (docs at ${api.address}/docs, dashboard at ${api.address}/); worker ${worker.node.id} with ${shared.HYPERSWEEP_CONCURRENCY} trainer process(es)`);

  try {
    const admin = new HypersweepClient({ url: api.address, apiKey: adminToken });
    const { team, apiKey } = await admin.request("POST", "/v1/admin/teams", { name: `demo-${new Date().toISOString().replace(/[:.]/g, "-")}` });
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
    say(`5/7 sweep ${sweep.id}: ${sweep.trialCount} search trials (2 learning rates × 2 sampled augmentation subsets), plan ${sweep.planHash.slice(0, 12)};`);
    say(`    when the search ends, the winner is retrained by itself (up to ${body.overrides.finalEpochs} epochs, early stopping) and scored on the test set`);
    const status = await watchSweep(client, sweep.id);

    const { trials } = await client.request("GET", `/v1/sweeps/${sweep.id}/trials`);
    const finals = trials.filter((t: { stage: string }) => t.stage === "final");
    say(`\n6/7 sweep ${status} in ${Math.round((Date.now() - started) / 1000)} s: search trials, then the final training\n`);
    say(trialsTable(trials));
    if (status !== "succeeded") return 1;
    say(`\n7/7 results`);
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
    say(`\nThe sweep's report (hypersweep report ${sweep.id} [--format html|csv] [-o file]):\n`);
    say((await fetchReport(client, sweep.id, "md")).trimEnd());
    say(`\nDone in ${Math.round((Date.now() - started) / 1000)} s (final trainings: ${finals.length}).`);
    say(`\nDashboard: ${api.address}/#/sweeps/${sweep.id} (sign in with the team's API key above; leaderboard at ${api.address}/#/leaderboard/${ds.id})`);
    if (opts.serve) await serveUntilStopped(api.address);
    else say("Run `npm run demo -- --serve` to keep the API, the dashboard and the worker running after the demo.");
    return finals.length > 0 && finals.every((t: { status: string }) => t.status === "succeeded") ? 0 : 1;
  } finally {
    await worker.close();
    await api.close();
  }
}

/** Keeps everything running until SIGINT or SIGTERM. */
function serveUntilStopped(address: string): Promise<void> {
  say(`\nServing the API, the dashboard (${address}/) and the worker; Ctrl-C stops them.`);
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      say("stopping…");
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo(process.env, { serve: process.argv.slice(2).includes("--serve") }).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`demo failed: ${err instanceof Error && "describe" in err ? (err as { describe(): string }).describe() : err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
