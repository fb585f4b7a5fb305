/**
 * A fleet on one Postgres: N worker processes (bench/noop-worker.ts: a no-op trainer, connecting as
 * apps/worker/src/main.ts does) either holding DATABASE_URL (a pool of 5 + 3 each) or reaching Postgres through
 * the API with a worker token, side by side in one run. Per run: the peak of connections to the server
 * (pg_stat_activity, sampled every 50 ms from the first worker's start to the end), trials/s from the first
 * submit to the last result, connection errors (an outside client connecting every 100 ms, "too many clients"
 * lines of the server's log when --pg-log names it, worker processes that died), attempts beyond one per trial.
 * Run against a Postgres with the default max_connections (100), e.g. a cluster of its own:
 *   npx tsx bench/fleet.ts --pg postgresql://root@127.0.0.1:5499/postgres --pg-log /var/log/postgresql/postgresql-15-fleet.log
 * Options: --processes 16,24,100  --modes direct,api  --trials 1280  --slots 2 (trials at once per process).
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadavg } from "node:os";
import pg from "pg";
import { machine } from "./lib.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
// The test helpers read TEST_PG_URL when first imported: set it before importing them (below).
if (process.argv.includes("--pg")) process.env.TEST_PG_URL = arg("pg", "");
const PROCESSES = arg("processes", "16,24,100").split(",").map(Number);
const MODES = arg("modes", "direct,api").split(",") as Array<"direct" | "api">;
const TRIALS = Number(arg("trials", "1280"));
const SLOTS = Number(arg("slots", "2"));
const PG_LOG = arg("pg-log", "");
const ROOT = resolve(import.meta.dirname, "..");

const { parseEnv, apiEnv } = await import("@hypersweep/config");
const { createDb, createTeam, createWorkerToken } = await import("@hypersweep/db");
const { createTrialQueue } = await import("@hypersweep/queue");
const { buildApp } = await import("../apps/api/src/app.ts");
const { default: globalSetup } = await import("../test/helpers/global-setup.ts");
const { createTestDatabase, testQueuePrefix } = await import("../test/helpers/test-db.ts");
const { PG_BASE_URL, REDIS_URL } = await import("../test/helpers/pg-admin.ts");

interface Row {
  mode: "direct" | "api";
  processes: number;
  started: number;
  trials: number;
  seconds: number;
  trialsPerS: number;
  peakConnections: number;
  probeFailures: number;
  probes: number;
  tooManyClients: number | null;
  extraAttempts: number;
  load: string;
}

/** Connections to the whole server, sampled on a connection of its own (opened before any worker starts). */
async function sampler() {
  const c = new pg.Client({ connectionString: PG_BASE_URL });
  await c.connect();
  let peak = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'`);
      peak = Math.max(peak, rows[0]!.n);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { peak: () => peak, end: async () => { stop = true; await loop; await c.end(); } };
}

/** Another client of the same server (a dashboard, a migration): connects every 100 ms; how often is it refused? */
function probe() {
  let tries = 0;
  let failures = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      tries++;
      const c = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 5000 });
      try {
        await c.connect();
        await c.query("SELECT 1");
      } catch {
        failures++;
      } finally {
        await c.end().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { result: () => ({ tries, failures }), end: async () => { stop = true; await loop; } };
}

function logSize(): number {
  return PG_LOG && existsSync(PG_LOG) ? statSync(PG_LOG).size : 0;
}
function tooManySince(offset: number): number | null {
  if (!PG_LOG || !existsSync(PG_LOG)) return null;
  return (readFileSync(PG_LOG, "utf8").slice(offset).match(/too many clients already/g) ?? []).length;
}

async function run(mode: "direct" | "api", processes: number): Promise<Row> {
  const tdb = await createTestDatabase(`fleet${mode}${processes}`);
  const prefix = testQueuePrefix(`fleet${mode}${processes}`);
  const db = createDb(tdb.url, { poolSize: 4 });
  const team = await createTeam(db, "bench");
  const ds = await db.dataset.create({ data: { teamId: team.team.id, name: "bench" } });
  const rows = Array.from({ length: 40 }, (_, i) => ({ row: i + 2, patientId: `p${i}`, fileName: `f${i}.png`, modality: "ct", section: "axial", diagnosis: i % 2 ? "covid19" : "healthy", marks: false, split: i < 28 ? "train" : i < 34 ? "valid" : "test", lungPresence: "full", origin: "o", suitable: true, meta: {}, sha256: `h${i}` }));
  await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "bench", storagePath: "/nonexistent", imageCount: rows.length, summary: {}, manifest: rows } });
  const env = { DATABASE_URL: tdb.url, REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: prefix, LOG_LEVEL: "warn" };
  const queue = createTrialQueue({ redisUrl: REDIS_URL, prefix });
  queue.on("error", () => {});
  // The API runs the reconciler in either mode (as a deployment whose workers go through it must).
  const app = await buildApp({ db: createDb(tdb.url), queue, config: parseEnv(apiEnv, { ...env, HYPERSWEEP_RECONCILE_MS: "5000" }) }, { logger: false });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const token = (await createWorkerToken(db, "bench")).token;
  const { DATABASE_URL: _, ...noDb } = env;
  const workerEnv = mode === "direct" ? env : { ...noDb, HYPERSWEEP_API_URL: url, HYPERSWEEP_WORKER_TOKEN: token };

  const logAt = logSize();
  const sample = await sampler();
  const outsider = probe();
  const children: ChildProcess[] = [];
  const started = await Promise.all(
    Array.from({ length: processes }, () => {
      const childEnv: Record<string, string | undefined> = { ...process.env, ...workerEnv, HYPERSWEEP_CONCURRENCY: String(SLOTS), HYPERSWEEP_RECONCILE_MS: "0" };
      if (mode === "api") delete childEnv.DATABASE_URL;
      const child = fork(join(ROOT, "bench/noop-worker.ts"), [], { execArgv: ["--import", "tsx"], env: childEnv, stdio: ["ignore", "ignore", "ignore", "ipc"] });
      children.push(child);
      return new Promise<boolean>((res) => {
        child.once("message", () => res(true));
        child.once("exit", () => res(false));
      });
    }),
  );
  console.error(`${mode} × ${processes}: ${started.filter(Boolean).length} worker process(es) ready`);

  const t0 = performance.now();
  const sweepIds: string[] = [];
  for (let left = TRIALS; left > 0; left -= 320) {
    const n = Math.min(320, left);
    const lrs = Array.from({ length: Math.ceil(n / 32) }, (_, i) => 10 ** -(1 + i / 10));
    const res = await fetch(`${url}/v1/sweeps`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${team.apiKey}` },
      body: JSON.stringify({ dataset: ds.id, scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn"], seed: 1, overrides: { learningRates: lrs, allSubsets: true, searchEpochs: 3, imageSize: 16, final: false } }),
    });
    if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
    sweepIds.push(((await res.json()) as { id: string }).id);
  }
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const open = await db.sweep.count({ where: { id: { in: sweepIds }, status: { in: ["queued", "running"] } } });
    if (open === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const load = loadavg().map((x) => x.toFixed(1)).join(" ");
  await outsider.end();
  await sample.end();
  const trials = await db.trial.count({ where: { status: "succeeded" } });
  const extraAttempts = (await db.attempt.count()) - trials;
  await Promise.all(children.map((c) => new Promise<void>((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    c.once("exit", () => res());
    c.kill("SIGTERM");
    setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
  })));
  await app.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await db.$disconnect();
  await tdb.drop();
  const p = outsider.result();
  return {
    mode, processes, started: started.filter(Boolean).length, trials, seconds, trialsPerS: trials / seconds, peakConnections: sample.peak(),
    probeFailures: p.failures, probes: p.tries, tooManyClients: tooManySince(logAt), extraAttempts, load,
  };
}

async function main() {
  await globalSetup();
  const admin = new pg.Client({ connectionString: PG_BASE_URL });
  await admin.connect();
  const maxConnections = (await admin.query<{ max_connections: string }>("SHOW max_connections")).rows[0]!.max_connections;
  await admin.end();
  const rows: Row[] = [];
  for (const n of PROCESSES) {
    for (const mode of MODES) {
      const r = await run(mode, n);
      console.log(JSON.stringify(r));
      rows.push(r);
    }
  }
  const label = { direct: "direct (DATABASE_URL, pool 5 + 3)", api: "through the API (worker token)" };
  const lines = [
    "## Fleet (`npx tsx bench/fleet.ts --pg <default Postgres> --pg-log <its log>`)",
    "",
    `Machine: ${machine()}. Date: ${new Date().toISOString()}. Postgres: max_connections ${maxConnections}. Worker processes run the no-op trainer (bench/noop-worker.ts, ${SLOTS} trials at once each) and connect as apps/worker/src/main.ts does; ${TRIALS} trials of 3 epochs per run (sweeps of 320); the API (one process, pool of 10 + 5 and one LISTEN connection) runs in the benchmark's process. Connections: the peak of pg_stat_activity client backends on the whole server, sampled every 50 ms from the first worker's start. Refused: an outside client connecting every 100 ms. Load average (1, 5, 15 min) at each run's end.`,
    "",
    "| worker processes | how workers reach Postgres | processes started | peak connections | trials/s | outside client refused | \"too many clients\" in the server log | attempts beyond one per trial | load |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.processes} | ${label[r.mode]} | ${r.started} | ${r.peakConnections} | ${r.trialsPerS.toFixed(0)} (${r.trials} in ${r.seconds.toFixed(1)} s) | ${r.probeFailures} of ${r.probes} | ${r.tooManyClients ?? "n/a"} | ${r.extraAttempts} | ${r.load} |`),
    "",
  ];
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/fleet.md"), lines.join("\n"));
  console.log(lines.join("\n"));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
