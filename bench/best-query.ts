/**
 * /v1/best and /v1/leaderboard latency with 100,000 and 1,000,000 trials stored (one team among several,
 * 6 architectures × 4 scenarios × 2 datasets), over real HTTP against the real Postgres.
 * Run: npx tsx bench/best-query.ts [--sizes 100000,1000000] [--requests 400]
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { parseEnv, apiEnv } from "@hypersweep/config";
import { createDb, createTeam } from "@hypersweep/db";
import { createTrialQueue } from "@hypersweep/queue";
import { buildApp } from "../apps/api/src/app.ts";
import globalSetup from "../test/helpers/global-setup.ts";
import { createTestDatabase } from "../test/helpers/test-db.ts";
import { REDIS_URL } from "../test/helpers/pg-admin.ts";
import { machine, ms, summary } from "./lib.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SIZES = arg("sizes", "100000,1000000").split(",").map(Number);
const REQUESTS = Number(arg("requests", "400"));
const ARCHS = ["resnet18", "resnet50", "wide_resnet50_2", "densenet121", "densenet169", "small_cnn"];
const SCENARIOS = ["ct/binary", "ct/multiclass", "radiograph/binary", "radiograph/multiclass"];

async function run(size: number) {
  const tdb = await createTestDatabase("benchbest");
  const db = createDb(tdb.url, { poolSize: 4 });
  const teams = await Promise.all(["a", "b", "c", "d"].map((n) => createTeam(db, `bench-${n}`)));
  const team = teams[0];
  const datasets: string[] = [];
  for (const t of teams) {
    for (const n of ["ct-stock", "rx-stock"]) {
      const ds = await db.dataset.create({ data: { teamId: t.team.id, name: n } });
      const v = await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: n, storagePath: "/x", imageCount: 0, summary: {}, manifest: [] } });
      const sw = await db.sweep.create({ data: { teamId: t.team.id, datasetId: ds.id, datasetVersionId: v.id, scenarioKey: "ct/binary", scenario: {}, preset: "data-stock-2020", spec: {}, seed: 1, planHash: "x", trialCount: 0 } });
      datasets.push(`${t.team.id}|${ds.id}|${sw.id}`);
    }
  }
  const t0 = Date.now();
  // Trials spread over teams × datasets × scenarios × architectures; ~85% succeeded with random scores.
  await db.$executeRawUnsafe(`
    INSERT INTO trials (id, sweep_id, team_id, dataset_id, scenario_key, task, position, key, architecture, learning_rate,
                        augmentations, spec, status, selection_score, tiebreak_score, val_auc, val_f1, val_loss, epochs_done)
    SELECT gen_random_uuid(), split_part(d, '|', 3)::uuid, split_part(d, '|', 1)::uuid, split_part(d, '|', 2)::uuid,
           (ARRAY['${SCENARIOS.join("','")}'])[1 + (g % 4)], CASE WHEN g % 2 = 0 THEN 'binary' ELSE 'multiclass' END,
           g, 'k' || g, (ARRAY['${ARCHS.join("','")}'])[1 + ((g / 4) % 6)], 1e-3, '{}', '{}',
           CASE WHEN g % 7 = 0 THEN 'failed'::trial_status ELSE 'succeeded'::trial_status END,
           CASE WHEN g % 7 = 0 THEN NULL ELSE random() END, random(), random(), random(), random(), 30
    FROM generate_series(1, ${size}) g
    CROSS JOIN LATERAL (SELECT (ARRAY['${datasets.join("','")}'])[1 + (g % ${datasets.length})] AS d) x`);
  await db.$executeRawUnsafe("ANALYZE trials");
  const loadS = (Date.now() - t0) / 1000;

  const config = parseEnv(apiEnv, { DATABASE_URL: tdb.url, REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: "bench-best", LOG_LEVEL: "warn" });
  const queue = createTrialQueue({ redisUrl: REDIS_URL, prefix: "bench-best" });
  const app = await buildApp({ db, queue, config }, { logger: false });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const [, dsId] = datasets[0].split("|");
  const headers = { authorization: `Bearer ${team.apiKey}` };
  const time = async (path: string) => {
    const s = performance.now();
    const r = await fetch(url + path, { headers });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
    return performance.now() - s;
  };
  const bestPath = (i: number) => `/v1/best?dataset=${dsId}&scenario=${SCENARIOS[i % 4]}&architecture=${ARCHS[i % 6]}`;
  for (let i = 0; i < 50; i++) await time(bestPath(i)); // warm-up (connections, plans)
  const best: number[] = [];
  for (let i = 0; i < REQUESTS; i++) best.push(await time(bestPath(i)));
  const board: number[] = [];
  for (let i = 0; i < Math.max(20, REQUESTS / 10); i++) board.push(await time(`/v1/leaderboard?dataset=${dsId}`));
  const health: number[] = [];
  for (let i = 0; i < REQUESTS; i++) health.push(await time("/healthz"));
  const plan = await db.$queryRawUnsafe<Array<{ "QUERY PLAN": string }>>(
    `EXPLAIN SELECT id FROM trials t WHERE t.team_id = $1::uuid AND t.dataset_id = $2::uuid AND t.scenario_key = 'ct/binary' AND t.architecture = 'resnet18'
       AND t.status = 'succeeded' AND t.selection_score IS NOT NULL
     ORDER BY t.selection_score DESC, t.tiebreak_score DESC NULLS LAST, t.val_loss ASC NULLS LAST, t.position ASC LIMIT 1`, team.team.id, dsId);
  await app.close();
  await queue.close();
  await db.$disconnect();
  await tdb.drop();
  return { size, loadS, best: summary(best), board: summary(board), health: summary(health), usesIndex: plan.some((p) => p["QUERY PLAN"].includes("trials_best_config_idx")) };
}

async function main() {
  await globalSetup();
  const rows = [];
  for (const size of SIZES) {
    const r = await run(size);
    console.log(JSON.stringify(r));
    rows.push(r);
  }
  const lines = [
    "## Best-config queries (`npx tsx bench/best-query.ts`)",
    "",
    `Machine: ${machine()}. Date: ${new Date().toISOString()}. ${REQUESTS} sequential HTTP requests per size after 50 warm-up ones, keep-alive, API and Postgres on this machine.`,
    "",
    "| trials stored | /v1/best p50 | /v1/best p95 | /v1/best p99 | /v1/leaderboard p50 | /v1/leaderboard p95 | /healthz p50 (HTTP floor) | index used |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.size.toLocaleString("en")} | ${ms(r.best.p50)} | ${ms(r.best.p95)} | ${ms(r.best.p99)} | ${ms(r.board.p50)} | ${ms(r.board.p95)} | ${ms(r.health.p50)} | ${r.usesIndex ? "trials_best_config_idx" : "no"} |`),
    "",
    "Target: /v1/best p95 under 10 ms at a million trials (Optuna's RDB storage: ~0.5–5 s per trial at 80k trials).",
    "",
  ];
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/best-query.md", lines.join("\n"));
  console.log(lines.join("\n"));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
