/**
 * A fleet on one Postgres: N worker processes (bench/noop-worker.ts: a no-op trainer, connecting as
 * apps/worker/src/main.ts does) either holding DATABASE_URL (a pool of 5 + 3 each) or reaching Postgres through
 * the API with a worker token, side by side in one run. Per run: the peak of connections to the server
 * (pg_stat_activity, sampled every 50 ms from the first worker's start to the end), trials/s from the first
 * submit to the last result, connection errors (an outside client connecting every 100 ms, "too many clients"
 * lines of the server's log when --pg-log names it, worker processes that died), attempts beyond one per trial.
 * Run against a Postgres with the default max_connections (100), e.g. a cluster of its own:
 *   npx tsx bench/fleet.ts --pg postgresql://root@127.0.0.1:5499/postgres --pg-log /var/log/postgresql/postgresql-15-fleet.log
 * Options: --processes 16,24,100  --modes direct,api  --trials 1280  --slots 2 (trials at once per process)
 *   --ready-ms 90000 (a worker process not registered by then, e.g. waiting for a connection, counts as not started).
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
/** direct, or api:K[:P] (workers through K API processes, each with a pool of P, default 10; api = api:1). */
const MODES = arg("modes", "direct,api:1,api:4").split(",").map((m) => (m === "api" ? "api:1" : m));
const TRIALS = Number(arg("trials", "1280"));
const SLOTS = Number(arg("slots", "2"));
const PG_LOG = arg("pg-log", "");
/** How long a worker process may take to register (it waits while Postgres refuses it a connection), ms. */
const READY_MS = Number(arg("ready-ms", "90000"));
const ROOT = resolve(import.meta.dirname, "..");
/** Every process this benchmark starts, stopped if it ends early. */
const STARTED: ChildProcess[] = [];
process.on("exit", () => {
  for (const c of STARTED) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
process.once("SIGTERM", () => process.exit(143));
process.once("SIGINT", () => process.exit(130));

const { createDb, createTeam, createWorkerToken } = await import("@hypersweep/db");
const { createTrialQueue } = await import("@hypersweep/queue");
const { default: globalSetup } = await import("../test/helpers/global-setup.ts");
const { createTestDatabase, testQueuePrefix } = await import("../test/helpers/test-db.ts");
const { PG_BASE_URL, REDIS_URL } = await import("../test/helpers/pg-admin.ts");

interface Row {
  mode: string;
  processes: number;
  started: number;
  trials: number;
  seconds: number;
  trialsPerS: number;
  peakConnections: number;
  probeFailures: number;
  /** Why the outside client failed (message → count). */
  probeReasons: Record<string, number>;
  probes: number;
  tooManyClients: number | null;
  submitErrors: number;
  finished: boolean;
  extraAttempts: number;
  load: string;
  /** CPU seconds over the run: the worker processes, the API processes, Postgres. */
  cpu: { nodes: number; api: number; postgres: number };
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
  const reasons = new Map<string, number>();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      tries++;
      const c = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 5000 });
      try {
        await c.connect();
        await c.query("SELECT 1");
      } catch (err) {
        failures++;
        const why = /too many clients/.test((err as Error).message) ? "too many clients" : (err as Error).message.slice(0, 60);
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      } finally {
        await c.end().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { result: () => ({ tries, failures, reasons: Object.fromEntries(reasons) }), end: async () => { stop = true; await loop; } };
}

function logSize(): number {
  return PG_LOG && existsSync(PG_LOG) ? statSync(PG_LOG).size : 0;
}
function tooManySince(offset: number): number | null {
  if (!PG_LOG || !existsSync(PG_LOG)) return null;
  return (readFileSync(PG_LOG, "utf8").slice(offset).match(/too many clients already/g) ?? []).length;
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}
/** Postgres server processes on this machine (the server may be shared: only the difference over a run counts). */
function postgresPids(): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres";
    } catch {
      return false;
    }
  });
}
/** CPU used by each group of processes between two calls (processes started in between count from 0). */
function cpuMeter(groups: () => Record<string, number[]>) {
  const start = new Map<number, number>();
  for (const pids of Object.values(groups())) for (const pid of pids) start.set(pid, cpuSeconds(pid));
  return () => Object.fromEntries(Object.entries(groups()).map(([k, pids]) => [k, pids.reduce((sum, pid) => sum + cpuSeconds(pid) - (start.get(pid) ?? 0), 0)]));
}

const freePort = () =>
  new Promise<number>((res) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });

/** API processes (apps/api/src/main.ts), as a deployment runs them; the first also runs the reconciler. */
async function startApis(n: number, pool: number, env: Record<string, string>): Promise<{ urls: string[]; stop: () => Promise<void>; pids: () => number[] }> {
  const procs: ChildProcess[] = [];
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const child = spawn("node", ["--import", "tsx", ...prof, join(ROOT, "apps/api/src/main.ts")], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1", HYPERSWEEP_RECONCILE_MS: i === 0 ? "5000" : "0", HYPERSWEEP_RATE_LIMIT: "0", HYPERSWEEP_DB_POOL: String(pool), LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    procs.push(child);
    STARTED.push(child);
    urls.push(`http://127.0.0.1:${port}`);
  }
  for (const url of urls) {
    for (let t = 0; ; t++) {
      if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
      if (t > 600) throw new Error(`the API at ${url} did not start`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const stop = () => Promise.all(procs.map((c) => new Promise<void>((res) => {
    if (c.exitCode !== null) return res();
    c.once("exit", () => res());
    c.kill("SIGTERM");
    setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
  }))).then(() => {});
  return { urls, stop, pids: () => procs.map((c) => c.pid!).filter(Boolean) };
}

async function run(mode: string, processes: number): Promise<Row> {
  const apiProcesses = mode === "direct" ? 1 : Number(mode.split(":")[1] ?? 1);
  const tdb = await createTestDatabase(`fleet${mode.replaceAll(":", "")}${processes}`);
  const prefix = testQueuePrefix(`fleet${mode.replaceAll(":", "")}${processes}`);
  const db = createDb(tdb.url, { poolSize: 4 });
  const team = await createTeam(db, "bench");
  const ds = await db.dataset.create({ data: { teamId: team.team.id, name: "bench" } });
  const rows = Array.from({ length: 40 }, (_, i) => ({ row: i + 2, patientId: `p${i}`, fileName: `f${i}.png`, modality: "ct", section: "axial", diagnosis: i % 2 ? "covid19" : "healthy", marks: false, split: i < 28 ? "train" : i < 34 ? "valid" : "test", lungPresence: "full", origin: "o", suitable: true, meta: {}, sha256: `h${i}` }));
  await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "bench", storagePath: "/nonexistent", imageCount: rows.length, summary: {}, manifest: rows } });
  const env = { DATABASE_URL: tdb.url, REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: prefix, LOG_LEVEL: "warn" };
  const queue = createTrialQueue({ redisUrl: REDIS_URL, prefix });
  queue.on("error", () => {});
  // The API runs the reconciler in either mode (as a deployment whose workers go through it must).
  const apis = await startApis(apiProcesses, mode === "direct" ? 10 : Number(mode.split(":")[2] ?? 10), env);
  const url = apis.urls[0]!;
  const token = (await createWorkerToken(db, "bench")).token;
  const { DATABASE_URL: _, ...noDb } = env;
  const workerEnv = (i: number) => (mode === "direct" ? env : { ...noDb, HYPERSWEEP_API_URL: apis.urls[i % apis.urls.length]!, HYPERSWEEP_WORKER_TOKEN: token });

  const logAt = logSize();
  const sample = await sampler();
  const outsider = probe();
  const children: ChildProcess[] = [];
  const started = await Promise.all(
    Array.from({ length: processes }, (_, i) => {
      const childEnv: Record<string, string | undefined> = { ...process.env, ...workerEnv(i), HYPERSWEEP_CONCURRENCY: String(SLOTS), HYPERSWEEP_RECONCILE_MS: "0",
        // The no-op trainer reads no data: nothing to fetch into the node's cache.
        HYPERSWEEP_CACHE_FETCH: "false" };
      if (mode !== "direct") delete childEnv.DATABASE_URL;
      const child = fork(join(ROOT, "bench/noop-worker.ts"), [], { execArgv: ["--import", "tsx", ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}/workers`] : [])], env: childEnv, stdio: ["ignore", "ignore", "ignore", "ipc"] });
      children.push(child);
      STARTED.push(child);
      return new Promise<boolean>((res) => {
        child.once("message", () => res(true));
        child.once("exit", () => res(false));
        // A node that cannot get a connection waits for one (as for an outage): count it as not started.
        setTimeout(() => res(false), READY_MS).unref();
      });
    }),
  );
  console.error(`${mode} × ${processes}: ${started.filter(Boolean).length} worker process(es) ready`);

  let submitErrors = 0;
  let finished = true;
  // CPU of the worker processes, the API processes and Postgres over the run (all on this machine's cores).
  const cpu = cpuMeter(() => ({ nodes: children.map((c) => c.pid!).filter(Boolean), api: apis.pids(), postgres: postgresPids() }));
  const t0 = performance.now();
  try {
    const sweepIds: string[] = [];
    for (let left = TRIALS; left > 0; left -= 320) {
      const n = Math.min(320, left);
      const lrs = Array.from({ length: Math.ceil(n / 32) }, (_, i) => 10 ** -(1 + i / 10));
      // A submission the API could not store (its own Postgres connection refused) is an error a user sees: count it, send again.
      for (let tries = 0; ; tries++) {
        const res = await fetch(`${url}/v1/sweeps`, {
          method: "POST",
          // One key per sweep: a submission sent again after an answer it never got stores one sweep.
          headers: { "content-type": "application/json", authorization: `Bearer ${team.apiKey}`, "idempotency-key": `fleet-sweep-${left}` },
          body: JSON.stringify({ dataset: ds.id, scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn"], seed: 1, overrides: { learningRates: lrs, allSubsets: true, searchEpochs: 3, imageSize: 16, final: false } }),
        }).catch((err: Error) => ({ status: 0, text: async () => err.message, json: async () => ({}) }));
        if (res.status === 201 || res.status === 200) {
          sweepIds.push(((await res.json()) as { id: string }).id);
          break;
        }
        submitErrors++;
        if (tries > 50) throw new Error(`submit: ${res.status} ${await res.text()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const deadline = Date.now() + 5 * 60_000;
    for (;;) {
      const open = await db.sweep.count({ where: { id: { in: sweepIds }, status: { in: ["queued", "running"] } } }).catch(() => 1);
      if (open === 0) break;
      if (Date.now() > deadline) {
        finished = false;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    finished = false;
    console.error(`${mode} × ${processes}: ${(err as Error).message}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const used = cpu();
  const load = loadavg().map((x) => x.toFixed(1)).join(" ");
  await outsider.end();
  await sample.end();
  await Promise.all(children.map((c) => new Promise<void>((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    c.once("exit", () => res());
    c.kill("SIGTERM");
    setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
  })));
  const trials = await db.trial.count({ where: { status: "succeeded" } });
  const extraAttempts = (await db.attempt.count()) - trials;
  await apis.stop();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await db.$disconnect();
  await tdb.drop();
  const p = outsider.result();
  return {
    mode, processes, started: started.filter(Boolean).length, trials, seconds, trialsPerS: trials / seconds, peakConnections: sample.peak(),
    probeFailures: p.failures, probeReasons: p.reasons, probes: p.tries, tooManyClients: tooManySince(logAt), submitErrors, finished, extraAttempts, load,
    cpu: used as Row["cpu"],
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
      // Written after every run, so that a long run cut short still leaves what it measured.
      report(rows, maxConnections);
    }
  }
  console.log(readFileSync(join(ROOT, "bench/results/fleet.md"), "utf8"));
}

/** CPU per finished trial, ms: the worker processes / the API processes / Postgres. */
const perTrial = (r: Row) => (r.trials ? [r.cpu.nodes, r.cpu.api, r.cpu.postgres].map((s) => ((s * 1000) / r.trials).toFixed(1)).join(" / ") : "n/a");

function report(measured: Row[], maxConnections: string) {
  const rows = [...measured].sort((a, b) => a.processes - b.processes);
  const label = (mode: string) => {
    if (mode === "direct") return "direct (DATABASE_URL, pool 5 + 3)";
    const [, k = "1", pool = "10"] = mode.split(":");
    return `through the API (worker token), ${k} API process${k === "1" ? "" : "es"}, pool ${pool} + ${Math.max(2, Math.ceil(Number(pool) / 2))} each`;
  };
  const lines = [
    "## Fleet (`npx tsx bench/fleet.ts --pg <default Postgres> --pg-log <its log>`)",
    "",
    `Machine: ${machine()}. Date: ${new Date().toISOString()}. Postgres: max_connections ${maxConnections}. Worker processes run the no-op trainer (bench/noop-worker.ts, ${SLOTS} trials at once each) and connect as apps/worker/src/main.ts does; ${TRIALS} trials of 3 epochs per run (sweeps of 320). API processes (apps/api/src/main.ts, each a pool of 10 + 5 and one LISTEN connection) run beside them; with several, the workers are spread over them. Everything shares this machine's cores. Connections: the peak of pg_stat_activity client backends on the whole server, sampled every 50 ms from the first worker's start. Refused: an outside client connecting every 100 ms. CPU per trial: user + system CPU seconds from the first submit to the last result (/proc), of the worker processes, of the API processes, and of every Postgres process on the machine, over the trials finished (the no-op trainer's own CPU is the nodes' share: on a real fleet it runs on the nodes, not beside the server). Load average (1, 5, 15 min) at each run's end.`,
    "",
    "| worker processes | how workers reach Postgres | processes started | peak connections | trials/s | outside client refused | submissions refused (API) | \"too many clients\" in the server log | attempts beyond one per trial | CPU ms per trial: nodes / API / Postgres | load |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.processes} | ${label(r.mode)} | ${r.started} | ${r.peakConnections} | ${r.trialsPerS.toFixed(0)} (${r.trials} in ${r.seconds.toFixed(1)} s${r.finished ? "" : ", did not finish"}) | ${r.probeFailures} of ${r.probes}${r.probeFailures ? ` (${Object.entries(r.probeReasons).map(([k, v]) => `${v}× ${k}`).join("; ")})` : ""} | ${r.submitErrors} | ${r.tooManyClients ?? "n/a"} | ${r.extraAttempts} | ${perTrial(r)} | ${r.load} |`),
    "",
  ];
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/fleet.md"), lines.join("\n"));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
