/**
 * The dashboard's sweep page on a large sweep (1,024 trials × 30 epochs), in headless Chromium against the real API
 * and Postgres, side by side with the page and answers of a baseline revision (--baseline, default b091dca: before
 * the lean loading path), alternating run by run:
 * 1. each answer the page asks for, timed on the server side (HTTP on localhost, and the parts of the trials answer);
 * 2. load: navigation → the grid shown, and → every row in the grid and every chart drawn with its data (target:
 *    under 1.5 s);
 * 3. responsiveness (current page only) while the API's event stream delivers 50 epoch events a second (frame
 *    intervals, long tasks, and the time a click on a grid header takes to re-sort 1,024 rows), beside the page idle.
 * Run: npx tsx bench/dashboard.ts [--runs 7] [--seconds 10] [--baseline <git ref>] [--baseline-answers before|now]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { apiEnv, parseEnv } from "@hypersweep/config";
import { createDb, EVENTS_CHANNEL, listTrials, listTrialsJson, sweepEpochsJson } from "@hypersweep/db";
import { createTrialQueue } from "@hypersweep/queue";
import { ensureDashboardBuilt } from "@hypersweep/dashboard";
import { buildApp } from "../apps/api/src/app.ts";
import { launch, openPage, type Browsing } from "../apps/dashboard/test/browser.ts";
import globalSetup from "../test/helpers/global-setup.ts";
import { createTestDatabase } from "../test/helpers/test-db.ts";
import { REDIS_URL } from "../test/helpers/pg-admin.ts";
import { machine, ms, summary } from "./lib.ts";
import { baselineRoutes, buildBaselinePage, routeAsIs, routeToBaseline } from "./dashboard-baseline.ts";
import { ARCHS, EPOCHS, RATES, RUNNING, seedSweep, type SeededSweep } from "./dashboard-seed.ts";
import { measureResponsiveness, type Responsiveness } from "./dashboard-live.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const RUNS = Number(arg("runs", "7"));
const SECONDS = Number(arg("seconds", "10"));
const BASELINE = arg("baseline", "b091dca");
/** --baseline-answers now: the baseline page against the current answers (to compare pages alone). */
const BASELINE_ANSWERS = arg("baseline-answers", "before");
const ROUNDS = 15;
const median = (xs: number[]) => summary(xs).p50;
const range = (xs: number[]) => `${ms(median(xs))} (${ms(Math.min(...xs))}–${ms(Math.max(...xs))})`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(" / ");

interface Load { total: number; grid: number; data: number; charts: number }

/** One fresh tab: navigation → grid shown, data received, every chart drawn with its data. */
async function loadOnce(browsing: Browsing, url: string, s: SeededSweep, baseline: boolean): Promise<Load> {
  const p = await openPage(browsing);
  await (baseline && BASELINE_ANSWERS === "before" ? routeToBaseline(p.page) : routeAsIs(p.page));
  await p.context.addInitScript((key) => sessionStorage.setItem("hypersweep.apiKey", key), s.apiKey);
  await p.context.addInitScript(() => {
    const w = window as unknown as { gridAt?: number };
    new MutationObserver((_m, o) => {
      if (document.querySelector("table[data-table=trials] tr[data-trial]")) (w.gridAt = performance.now()), o.disconnect();
    }).observe(document, { subtree: true, childList: true });
  });
  await p.page.goto(`${url}/#/sweeps/${s.sweepId}`);
  const t = await p.page.waitForFunction(
    (n) => {
      const grid = document.querySelector<HTMLElement>("table[data-table=trials]");
      const rows = grid && grid.querySelector("tr[data-trial]") ? Number(grid.dataset.rows) : 0;
      const boxes = Array.from(document.querySelectorAll<HTMLElement & { hsChart?: { getOption(): { series?: Array<{ data?: unknown[] }> } | undefined } }>("[data-chart]"));
      if (rows !== n || !boxes.length || !boxes.every((c) => c.hasAttribute("data-drawn"))) return false;
      // A learning-curve chart counts once it holds the curves (a resize alone also draws it, empty).
      const curves = boxes.filter((c) => c.dataset.chart!.startsWith("curves-"));
      if (!curves.every((c) => (c.hsChart?.getOption()?.series ?? []).some((x) => (x.data?.length ?? 0) > 0))) return false;
      return { at: performance.now(), charts: boxes.length };
    },
    s.trialCount,
    { polling: "raf", timeout: 60_000 },
  );
  const done = (await t.jsonValue()) as { at: number; charts: number };
  const data = await p.page.evaluate(() => Math.max(...performance.getEntriesByType("resource").filter((e) => /\/v1\/(baseline\/)?sweeps\/[\w-]+(\/trials|\/epochs)?$/.test(e.name)).map((e) => (e as PerformanceResourceTiming).responseEnd)));
  const grid = await p.page.evaluate(() => (window as unknown as { gridAt: number }).gridAt);
  if (p.problems.length) throw new Error(`page problems: ${p.problems.join("; ")}`);
  await p.context.close();
  return { total: done.at, grid, data, charts: done.charts };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main() {
  await ensureDashboardBuilt();
  const baselineDist = await buildBaselinePage(BASELINE);
  await globalSetup();
  const tdb = await createTestDatabase("benchdash");
  const db = createDb(tdb.url, { poolSize: 4 });
  const s = await seedSweep(db);
  const env = { DATABASE_URL: tdb.url, REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: "bench-dash", LOG_LEVEL: "warn" };
  const queue = createTrialQueue({ redisUrl: REDIS_URL, prefix: "bench-dash" });
  queue.on("error", () => {}); // the page only reads; nothing is enqueued
  const app = await buildApp({ db, queue, config: parseEnv(apiEnv, env) }, { logger: false });
  const before = await buildApp({ db, queue, config: parseEnv(apiEnv, { ...env, HYPERSWEEP_DASHBOARD_DIR: baselineDist }) }, { logger: false, extraV1: [baselineRoutes] });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const beforeUrl = await before.listen({ host: "127.0.0.1", port: 0 });
  const startLoad = load();
  const auth = { authorization: `Bearer ${s.apiKey}` };
  const get = async (base: string, path: string) => (await (await fetch(`${base}${path}`, { headers: auth })).arrayBuffer()).byteLength;

  // 1. The answers, server side (alternating, after a warm-up of each).
  const answers: Array<[string, string, string]> = [
    ["trials, before: rows through Prisma, serialised by fastify", beforeUrl, `/v1/baseline/sweeps/${s.sweepId}/trials`],
    ["trials, now: JSON text from Postgres", url, `/v1/sweeps/${s.sweepId}/trials`],
    ["epochs, before", beforeUrl, `/v1/baseline/sweeps/${s.sweepId}/epochs`],
    ["epochs, now", url, `/v1/sweeps/${s.sweepId}/epochs`],
    ["sweep (status, counts, stages, ETA)", url, `/v1/sweeps/${s.sweepId}`],
  ];
  const sizes = await Promise.all(answers.map(([, base, path]) => get(base, path)));
  const http = answers.map(() => [] as number[]);
  const parts = { prisma: [] as number[], stringify: [] as number[], json: [] as number[], epochs: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [, base, path]] of answers.entries()) http[i].push(await timed(() => get(base, path)));
    let rows: unknown;
    parts.prisma.push(await timed(async () => (rows = await listTrials(db, s.teamId, s.sweepId))));
    parts.stringify.push(await timed(async () => JSON.stringify({ trials: rows })));
    parts.json.push(await timed(() => listTrialsJson(db, s.teamId, s.sweepId)));
    parts.epochs.push(await timed(() => sweepEpochsJson(db, s.teamId, s.sweepId)));
  }

  // 2. Load, fresh tab each run, baseline and current alternating (the first of each is a warm-up, not counted).
  const browsing = await launch();
  const loads = { before: [] as Load[], now: [] as Load[] };
  for (let r = 0; r <= RUNS; r++) {
    for (const side of r % 2 ? (["now", "before"] as const) : (["before", "now"] as const)) {
      const l = await loadOnce(browsing, side === "before" ? beforeUrl : url, s, side === "before");
      if (r > 0) loads[side].push(l);
    }
  }
  const loadAfterLoads = load();

  // 3. Responsiveness of the current page, idle and under 50 epoch events/s.
  const notifier = new pg.Client({ connectionString: tdb.url });
  await notifier.connect();
  let sending = Promise.resolve();
  const notify = (e: Record<string, unknown>) => (sending = sending.then(() => notifier.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [JSON.stringify(e)])).then(() => {}, () => {}));
  const liveBefore = await measureResponsiveness(browsing, beforeUrl, s, SECONDS, notify);
  const live = await measureResponsiveness(browsing, url, s, SECONDS, notify);
  await notifier.end();
  await browsing.close();
  await app.close();
  await before.close();
  await queue.close();
  await db.$disconnect();
  await tdb.drop();
  writeResults(s, sizes, answers, http, parts, loads, { before: liveBefore, now: live }, { startLoad, loadAfterLoads });
}

function writeResults(
  s: SeededSweep, sizes: number[], answers: Array<[string, string, string]>, http: number[][], parts: Record<"prisma" | "stringify" | "json" | "epochs", number[]>,
  loads: Record<"before" | "now", Load[]>, live: Record<"before" | "now", Responsiveness>, when: { startLoad: string; loadAfterLoads: string },
): void {
  const col = (side: "before" | "now", k: keyof Load) => loads[side].map((l) => l[k]);
  const ratio = median(loads.now.map((l, i) => l.total / loads.before[i].total));
  const row = (label: string, m: Responsiveness["idle"]) => {
    const f = summary(m.frames);
    return `| ${label} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.max)} | ${m.longTasks.length} | ${m.longTasks.length ? ms(Math.max(...m.longTasks)) : "–"} | ${ms(median(m.clicks))} (n=${m.clicks.length}) |`;
  };
  const out = [
    "# dashboard (`npx tsx bench/dashboard.ts`)",
    "",
    `Machine: ${machine()}; load average ${when.startLoad} (1 / 5 / 15 min) when the measurements began, ${when.loadAfterLoads} after the page loads, ${load()} at the end; Debian's Chromium, headless, software rendering.`,
    `The sweep page of one sweep with ${s.trialCount} trials (${ARCHS.length} architectures × ${RATES.length} learning rates × 32 augmentation subsets; ${s.trialCount - RUNNING} succeeded with ${EPOCHS} epochs,`,
    `${RUNNING} running at epoch 10; ${s.epochRows} epoch rows), served by the real API from a fresh Postgres database. "before" is the page and the answers of`,
    `revision ${BASELINE} (built from its sources; ${BASELINE_ANSWERS === "before" ? "its trials and epochs answers served beside the current ones" : "against the current answers"}), "now" this revision; they alternate run by run.`,
    "",
    `## The answers, server side (${ROUNDS} requests each, alternating; HTTP on localhost, whole body read)`,
    "",
    "| answer | size | median (min–max) |",
    "|---|---|---|",
    ...answers.map(([label], i) => `| ${label} | ${(sizes[i] / 1024).toFixed(0)} KiB | ${range(http[i])} |`),
    "",
    `Parts of the trials answer, in process: before, Prisma's read ${range(parts.prisma)} + JSON.stringify ${range(parts.stringify)};`,
    `now, the one statement that returns the JSON text ${range(parts.json)}. The epochs statement: ${range(parts.epochs)}.`,
    "",
    `## Load: navigation → grid shown, and → grid full and every chart drawn with its data (${RUNS} runs per side, fresh tab each)`,
    "",
    "| | before: median (min–max) | now: median (min–max) |",
    "|---|---|---|",
    `| grid + every chart drawn (before ${loads.before[0].charts} charts, now ${loads.now[0].charts}) | ${range(col("before", "total"))} | **${range(col("now", "total"))}** |`,
    `| of which: sweep, trials and epochs received | ${range(col("before", "data"))} | ${range(col("now", "data"))} |`,
    `| grid shown (first rows in the DOM) | ${range(col("before", "grid"))} | ${range(col("now", "grid"))} |`,
    "",
    `now ÷ before, median of per-run ratios: ${ratio.toFixed(2)}. Target: under 1.5 s. ${median(col("now", "total")) < 1500 ? "Met" : "Not met"} (median ${ms(median(col("now", "total")))}).`,
    "",
    `## Responsiveness: ${live.now.seconds} s idle, then ${live.now.seconds} s while the API streams 50 epoch events/s (SSE); before, then now`,
    "",
    "Frame intervals from requestAnimationFrame (16.7 ms is a smooth 60 Hz); long tasks (> 50 ms on the main thread);",
    "and every 0.5 s a click on the grid's Val AUC header, timed until the next frame (re-sorting 1,024 rows).",
    "",
    "| page | frame p50 | frame p95 | frame max | long tasks | longest | click → next frame, median |",
    "|---|---|---|---|---|---|---|",
    row("before, idle", live.before.idle),
    row("before, 50 events/s", live.before.busy),
    row("now, idle", live.now.idle),
    row("now, 50 events/s", live.now.busy),
    "",
    `Now: events sent ${live.now.sent}, applied by the page ${live.now.applied}; ${live.now.framesUsed} animation frames applied all live updates since load`,
    `(updates are batched per frame: each frame rewrites only the changed rows' cells; the learning curves are redrawn`,
    "at most once a second).",
    "",
  ].join("\n");
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/dashboard.md", out);
  console.log(out);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
