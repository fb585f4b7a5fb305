/**
 * The orchestrator's own cost through the whole pipeline — HTTP submit → Postgres plan → BullMQ → worker →
 * lease → epochs and result in Postgres — with a trainer that does no work (bench/noop-worker.ts), with 1 and
 * 4 worker processes; the latency from enqueue to trainer start while not saturated; and, separately, what it
 * costs to start a trainer process. Run: npx tsx bench/orchestrator.ts [--trials 1000]
 */
import { fork, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnv, apiEnv } from "@hypersweep/config";
import { createDb, createTeam, type Db } from "@hypersweep/db";
import { createTrialQueue } from "@hypersweep/queue";
import { buildApp } from "../apps/api/src/app.ts";
import globalSetup from "../test/helpers/global-setup.ts";
import { createTestDatabase, testQueuePrefix } from "../test/helpers/test-db.ts";
import { REDIS_URL } from "../test/helpers/pg-admin.ts";
import { machine, ms, summary } from "./lib.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const TRIALS = Number(arg("trials", "1000"));
const ROOT = resolve(import.meta.dirname, "..");
/** Trials at once per worker process: 8 slots in all either way, so the two rows differ only in processes. */
const PER_PROCESS: Record<number, number> = { 1: 8, 4: 2 };

async function stack(label: string) {
  const tdb = await createTestDatabase(label);
  const prefix = testQueuePrefix(label);
  const db = createDb(tdb.url, { poolSize: 10 });
  const team = await createTeam(db, "bench");
  const ds = await db.dataset.create({ data: { teamId: team.team.id, name: "bench" } });
  const rows = Array.from({ length: 40 }, (_, i) => ({ row: i + 2, patientId: `p${i}`, fileName: `f${i}.png`, modality: "ct", section: "axial", diagnosis: i % 2 ? "covid19" : "healthy", marks: false, split: i < 28 ? "train" : i < 34 ? "valid" : "test", lungPresence: "full", origin: "o", suitable: true, meta: {}, sha256: `h${i}` }));
  await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "bench", storagePath: "/nonexistent", imageCount: rows.length, summary: {}, manifest: rows } });
  const env = { DATABASE_URL: tdb.url, REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: prefix, LOG_LEVEL: "warn" };
  const queue = createTrialQueue({ redisUrl: REDIS_URL, prefix });
  const app = await buildApp({ db, queue, config: parseEnv(apiEnv, env) }, { logger: false });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const submit = async (n: number) => {
    const lrs = Array.from({ length: Math.ceil(n / 32) }, (_, i) => 10 ** -(1 + i / 10));
    const overrides = n < 32 ? { learningRates: [1e-3], subsetsPerRate: n, searchEpochs: 3, imageSize: 16 } : { learningRates: lrs, allSubsets: true, searchEpochs: 3, imageSize: 16 };
    const res = await fetch(`${url}/v1/sweeps`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${team.apiKey}` },
      body: JSON.stringify({ dataset: ds.id, scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn"], seed: 1, overrides }),
    });
    if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string; trialCount: number };
  };
  const workers = (n: number, concurrency: number) =>
    Promise.all(
      Array.from({ length: n }, () => {
        const child = fork(join(ROOT, "bench/noop-worker.ts"), [], {
          execArgv: ["--import", "tsx", ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
          env: { ...process.env, ...env, HYPERSWEEP_CONCURRENCY: String(concurrency), HYPERSWEEP_RECONCILE_MS: "0" },
          stdio: ["ignore", "ignore", "inherit", "ipc"],
        });
        return new Promise<typeof child>((res) => child.once("message", () => res(child)));
      }),
    );
  const close = async () => {
    await app.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await db.$disconnect();
    await tdb.drop();
  };
  return { db, submit, workers, close };
}

async function stopAll(ws: import("node:child_process").ChildProcess[]) {
  await Promise.all(
    ws.map((w) => new Promise<void>((res) => {
      if (w.exitCode !== null) return res();
      w.once("exit", () => res());
      w.kill("SIGTERM");
      setTimeout(() => w.kill("SIGKILL"), 5000).unref();
    })),
  );
}

async function waitDone(db: Db, sweepIds: string[]) {
  for (;;) {
    const open = await db.sweep.count({ where: { id: { in: sweepIds }, status: { in: ["queued", "running"] } } });
    if (open === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function throughput(processes: number) {
  const s = await stack(`orch${processes}`);
  const ws = await s.workers(processes, PER_PROCESS[processes] ?? 8);
  console.error(`throughput: ${processes} worker process(es) ready`);
  const t0 = performance.now();
  const sweeps = [];
  for (let left = TRIALS; left > 0; left -= 320) sweeps.push(await s.submit(Math.min(320, left)));
  console.error(`throughput: ${sweeps.length} sweep(s) submitted in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  await waitDone(s.db, sweeps.map((x) => x.id));
  const seconds = (performance.now() - t0) / 1000;
  const trials = await s.db.trial.count({ where: { status: "succeeded" } });
  const epochs = await s.db.epoch.count();
  const doubled = await s.db.attempt.count({ where: { status: { not: "succeeded" } } });
  const inWorker = await s.db.$queryRaw<Array<{ p50: number; p95: number }>>`
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.finished_at - a.started_at) * 1000) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM t.finished_at - a.started_at) * 1000) AS p95
    FROM trials t JOIN attempts a ON a.trial_id = t.id`;
  console.error(`in-worker claim→result ms: p50 ${inWorker[0].p50} p95 ${inWorker[0].p95}`);
  await stopAll(ws);
  await s.close();
  return { processes, trials, seconds, trialsPerS: trials / seconds, epochsPerS: epochs / seconds, extraAttempts: doubled };
}

async function latency() {
  const s = await stack("orchlat");
  const ws = await s.workers(1, 8);
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    ids.push((await s.submit(4)).id); // 4 trials at a time, under the worker's 8 slots: nothing waits for a slot
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitDone(s.db, ids);
  const rows = await s.db.$queryRaw<Array<{ ms: number }>>`
    SELECT extract(epoch FROM a.started_at - s.created_at) * 1000 AS ms
    FROM attempts a JOIN trials t ON t.id = a.trial_id JOIN sweeps s ON s.id = t.sweep_id WHERE a.number = 1`;
  await stopAll(ws);
  await s.close();
  return summary(rows.map((r) => Number(r.ms)));
}

async function trainerStart() {
  const fixture = ["node", join(ROOT, "test/fixtures/fake-trainer.mjs")];
  const real = ["node", "--import", "tsx", join(ROOT, "packages/trainer/src/main.ts")];
  const spec = JSON.stringify({
    trialId: "b", attempt: 1, seed: 1, architecture: "small_cnn", stage: "search", task: "binary", learningRate: 1e-3, augmentations: [],
    augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 }, epochs: 1, batchSize: 8, imageSize: 16,
    schedule: { stepSize: 7, gamma: 0.1 }, selectionMetric: "auc",
    data: { datasetVersionId: "x", datasetDir: "/nonexistent", cacheDir: "/tmp/hs-bench-cache", scenario: { key: "ct/binary", modality: "ct", task: "binary", classes: ["other", "covid19"], positiveClass: "covid19" } },
    checkpointDir: "/tmp/hs-bench-ckpt", outputDir: "/tmp/hs-bench-out",
  });
  const toFirstLine = (cmd: string[]) =>
    new Promise<number>((res) => {
      const t0 = performance.now();
      const c = spawn(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: ["pipe", "pipe", "ignore"] });
      c.stdin.end(spec);
      c.stdout.once("data", () => {
        res(performance.now() - t0);
        c.kill("SIGKILL");
      });
      c.once("exit", () => res(performance.now() - t0));
    });
  const node: number[] = [];
  const tsx: number[] = [];
  for (let i = 0; i < 7; i++) {
    node.push(await toFirstLine(fixture));
    tsx.push(await toFirstLine(real));
  }
  return { fixture: summary(node), real: summary(tsx) };
}

async function main() {
  await globalSetup();
  const one = await throughput(1);
  console.log(JSON.stringify(one));
  const four = await throughput(4);
  console.log(JSON.stringify(four));
  const lat = await latency();
  console.log(JSON.stringify(lat));
  const start = await trainerStart();
  console.log(JSON.stringify(start));
  const lines = [
    "## Orchestrator (`npx tsx bench/orchestrator.ts`)",
    "",
    `Machine: ${machine()}. Date: ${new Date().toISOString()}. API, workers, Postgres and Redis all on this machine; trials run a no-op trainer in process (3 epochs each: 3 epoch writes + result), 8 at a time in all (1 process × 8, or 4 processes × 2). Wall time includes the HTTP submissions (sweeps of 320 trials).`,
    "",
    "| worker processes | trials | wall time | trials/s | epoch results/s | attempts beyond one per trial |",
    "|---|---|---|---|---|---|",
    ...[one, four].map((r) => `| ${r.processes} | ${r.trials} | ${r.seconds.toFixed(1)} s | ${r.trialsPerS.toFixed(0)} | ${r.epochsPerS.toFixed(0)} | ${r.extraAttempts} |`),
    "",
    `Enqueue → trainer start (sweep committed → attempt opened), not saturated (100 sweeps of 4 trials, 0.1 s apart, 1 worker process × 8): p50 ${ms(lat.p50)}, p95 ${ms(lat.p95)}, p99 ${ms(lat.p99)} (n = ${lat.n}).`,
    "",
    `Starting a trainer process until its first line: fixture trainer (plain node) p50 ${ms(start.fixture.p50)}; the TensorFlow.js trainer (node + tsx, loads tfjs and the backend) p50 ${ms(start.real.p50)}, max ${ms(start.real.max)} (n = 7 each).`,
    "",
    "Targets: ≥ 200 trials/s, p99 enqueue → start under 50 ms while not saturated.",
    "",
  ];
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/orchestrator.md", lines.join("\n"));
  console.log(lines.join("\n"));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
