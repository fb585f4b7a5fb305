/**
 * Fair share, measured side by side with the first-in, first-out code it replaced (a checkout of the commit
 * before it, the same API, Postgres and Redis, alternating in one run):
 *  - throughput: 1 worker process × 8 slots, a no-op trainer (3 epoch writes + result per trial), one team
 *    submitting `--trials` trials over HTTP (sweeps of 320), wall time to the last result;
 *  - lateTeamFirstStartMs: team A submits 200 trials (each ~3 × 20 ms), then team B submits 10: how long B's
 *    first trial waited after its submit (B's sweep committed → B's first attempt opened, Postgres clock).
 * Run: npx tsx bench/fairness.ts [--trials 1000] [--rounds 3] [--baseline-ref <commit> | --no-baseline]
 * (BENCH_CPU_PROF=<dir>: the worker processes write V8 CPU profiles there)
 * The last line printed is a JSON object with lateTeamFirstStartMs and trialsPerS (medians, fair share on).
 */
import { execFileSync, execSync, fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadavg } from "node:os";
import { parseEnv, apiEnv } from "@hypersweep/config";
import { claimNextTrial, claimTrial, createDb, createTeam, type Db } from "@hypersweep/db";
import { createTrialQueue } from "@hypersweep/queue";
import { buildApp } from "../apps/api/src/app.ts";
import globalSetup from "../test/helpers/global-setup.ts";
import { createTestDatabase, testQueuePrefix } from "../test/helpers/test-db.ts";
import { REDIS_URL } from "../test/helpers/pg-admin.ts";
import { machine } from "./lib.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const ROOT = resolve(import.meta.dirname, "..");
const TRIALS = Number(arg("trials", "1000"));
const ROUNDS = Number(arg("rounds", "3"));
/** The last commit of main whose workers ran trials first-in, first-out (job id = trial id, claimed by id). */
const FIFO_REF = arg("baseline-ref", "e067db4230bc9168107d4f94429038f0277b783a");
const WITH_BASELINE = !process.argv.includes("--no-baseline");

/** A runnable copy of `ref` under /tmp: its files (git archive), this tree's node_modules except our own packages, its own Prisma client. */
function checkout(ref: string): string {
  const dir = `/tmp/hypersweep-bench-${ref.slice(0, 12)}`;
  if (existsSync(join(dir, "packages/db/src/generated"))) return dir;
  mkdirSync(dir, { recursive: true });
  execSync(`git -C ${JSON.stringify(ROOT)} archive ${ref} | tar -x -C ${JSON.stringify(dir)}`);
  const nm = join(dir, "node_modules");
  mkdirSync(join(nm, "@hypersweep"), { recursive: true });
  for (const e of readdirSync(join(ROOT, "node_modules"))) {
    if (e === "@hypersweep" || existsSync(join(nm, e))) continue;
    symlinkSync(join(ROOT, "node_modules", e), join(nm, e));
  }
  for (const p of readdirSync(join(ROOT, "node_modules/@hypersweep"))) {
    const target = readlinkSync(join(ROOT, "node_modules/@hypersweep", p)); // relative, e.g. ../../packages/db
    if (!existsSync(join(nm, "@hypersweep", p))) symlinkSync(target, join(nm, "@hypersweep", p));
  }
  execFileSync("npx", ["prisma", "generate"], { cwd: dir, env: { ...process.env, DATABASE_URL: "postgresql://placeholder@localhost/placeholder", CHECKPOINT_DISABLE: "1" }, stdio: "ignore" });
  return dir;
}

async function stack(label: string) {
  const tdb = await createTestDatabase(label);
  const prefix = testQueuePrefix(label);
  const db = createDb(tdb.url, { poolSize: 10 });
  const env = { DATABASE_URL: tdb.url, REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: prefix, LOG_LEVEL: "warn" };
  const queue = createTrialQueue({ redisUrl: REDIS_URL, prefix });
  const app = await buildApp({ db, queue, config: parseEnv(apiEnv, env) }, { logger: false });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const rows = Array.from({ length: 40 }, (_, i) => ({ row: i + 2, patientId: `p${i}`, fileName: `f${i}.png`, modality: "ct", section: "axial", diagnosis: i % 2 ? "covid19" : "healthy", marks: false, split: i < 28 ? "train" : i < 34 ? "valid" : "test", lungPresence: "full", origin: "o", suitable: true, meta: {}, sha256: `h${i}` }));
  const team = async (name: string) => {
    const t = await createTeam(db, name);
    const ds = await db.dataset.create({ data: { teamId: t.team.id, name: "bench" } });
    await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "bench", storagePath: "/nonexistent", imageCount: rows.length, summary: {}, manifest: rows } });
    return async (n: number) => {
      // Exactly n trials: n subsets of one learning rate, or n/32 rates × all 32 subsets, or n/20 rates × 20 subsets.
      const lrs = (k: number) => Array.from({ length: k }, (_, i) => 10 ** -(1 + i / 10));
      const plan = n <= 32 ? { learningRates: [1e-3], subsetsPerRate: n } : n % 32 === 0 ? { learningRates: lrs(n / 32), allSubsets: true } : n % 20 === 0 ? { learningRates: lrs(n / 20), subsetsPerRate: 20 } : null;
      if (!plan) throw new Error(`no plan of exactly ${n} trials`);
      const overrides = { ...plan, searchEpochs: 3, imageSize: 16, final: false };
      const res = await fetch(`${url}/v1/sweeps`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${t.apiKey}` },
        body: JSON.stringify({ dataset: ds.id, scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn"], seed: 1, overrides }),
      });
      if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; trialCount: number; createdAt: string };
    };
  };
  const worker = (root: string, extra: Record<string, string> = {}) => {
    const child = fork(join(ROOT, "bench/fairness-worker.ts"), [], {
      cwd: root,
      execArgv: ["--import", "tsx", ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
      env: { ...process.env, ...env, FAIRNESS_ROOT: root, HYPERSWEEP_CONCURRENCY: "8", HYPERSWEEP_RECONCILE_MS: "0", ...extra },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    return new Promise<ChildProcess>((res, rej) => {
      child.once("message", () => res(child));
      child.once("exit", (code) => rej(new Error(`worker exited (${code})`)));
    });
  };
  const close = async (w?: ChildProcess) => {
    if (w && w.exitCode === null) {
      await new Promise<void>((res) => {
        w.once("exit", () => res());
        w.kill("SIGTERM");
        setTimeout(() => w.kill("SIGKILL"), 5000).unref();
      });
    }
    await app.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await db.$disconnect();
    await tdb.drop();
  };
  return { db, team, worker, close };
}

async function until(check: () => Promise<boolean>, every = 20) {
  while (!(await check())) await new Promise((r) => setTimeout(r, every));
}

async function sweepsDone(db: Db, ids: string[]) {
  await until(async () => (await db.sweep.count({ where: { id: { in: ids }, status: { in: ["queued", "running"] } } })) === 0, 50);
}

async function throughput(root: string, label: string) {
  const s = await stack(label);
  const w = await s.worker(root);
  const submit = await s.team("bench");
  const t0 = performance.now();
  const ids: string[] = [];
  for (let left = TRIALS; left > 0; left -= 320) ids.push((await submit(Math.min(320, left))).id);
  await sweepsDone(s.db, ids);
  const seconds = (performance.now() - t0) / 1000;
  const trials = await s.db.trial.count({ where: { status: "succeeded" } });
  const extra = await s.db.attempt.count({ where: { status: { not: "succeeded" } } });
  await s.close(w);
  return { trialsPerS: trials / seconds, trials, seconds, extra };
}

async function lateTeam(root: string, label: string) {
  const s = await stack(label);
  const w = await s.worker(root, { NOOP_EPOCH_MS: "20" });
  const a = await s.team("alpha");
  const b = await s.team("bravo");
  const big = await a(200);
  // A fills every slot first.
  await until(async () => (await s.db.trial.count({ where: { sweepId: big.id, status: { not: "queued" } } })) >= 8);
  const late = await b(10);
  await sweepsDone(s.db, [late.id]);
  const [r] = await s.db.$queryRaw<Array<{ first: number; done: number; a_done: number }>>`
    SELECT extract(epoch FROM (SELECT min(at.started_at) FROM attempts at JOIN trials t ON t.id = at.trial_id WHERE t.sweep_id = s.id) - s.created_at) * 1000 AS first,
           extract(epoch FROM s.finished_at - s.created_at) * 1000 AS done,
           (SELECT count(*) FROM trials WHERE sweep_id = ${big.id}::uuid AND status = 'succeeded' AND finished_at <= s.finished_at)::int AS a_done
    FROM sweeps s WHERE s.id = ${late.id}::uuid`;
  await s.close(w);
  return { firstStartMs: Number(r!.first), doneMs: Number(r!.done), aDoneWhenBDone: r!.a_done };
}

/**
 * The claim statement alone, in one process on one connection: `CLAIMS` claims by fair share (5 teams, 600 waiting
 * trials each, 8 running) against as many claims by id (the FIFO code's statement) on a copy of the same data.
 */
const CLAIMS = 500;
async function claimCost() {
  const out: Record<string, number> = {};
  for (const kind of ["fair", "byId"] as const) {
    const s = await stack(`fairclaim${kind}`);
    const ids: string[] = [];
    for (let t = 0; t < 5; t++) {
      const submit = await s.team(`team${t}`);
      for (let k = 0; k < 2; k++) ids.push(...(await s.db.trial.findMany({ where: { sweepId: (await submit(320)).id }, select: { id: true }, orderBy: { position: "asc" } })).map((x) => x.id));
    }
    const opts = { leaseMs: 60_000, maxAttempts: 3 };
    const t0 = performance.now();
    for (let i = 0; i < CLAIMS; i++) {
      const c = kind === "fair" ? await claimNextTrial(s.db, "bench", opts) : await claimTrial(s.db, ids[i]!, "bench", opts);
      if (c.kind !== "claimed") throw new Error(`claim ${i} (${kind}): ${c.kind}`);
      // Keep about 8 running, as 8 slots would: end the claim made 8 claims ago.
      if (i >= 8) await s.db.pool.query(`UPDATE trials SET status = 'succeeded', finished_at = now() WHERE id = (SELECT id FROM trials WHERE status = 'running' ORDER BY started_at LIMIT 1)`);
    }
    out[kind] = (performance.now() - t0) / CLAIMS;
    await s.close();
  }
  return out as { fair: number; byId: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main() {
  await globalSetup();
  const variants: Array<{ name: string; root: string }> = [{ name: "fair share", root: ROOT }];
  if (WITH_BASELINE) {
    try {
      variants.push({ name: `FIFO (${FIFO_REF.slice(0, 7)})`, root: checkout(FIFO_REF) });
    } catch (err) {
      console.error(`baseline ${FIFO_REF} could not be prepared (${(err as Error).message.split("\n")[0]}); measuring fair share alone`);
    }
  }
  const load = loadavg()[0]!;
  const tp = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const late = new Map<string, Array<Awaited<ReturnType<typeof lateTeam>>>>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, v] of variants.entries()) {
      const t = await throughput(v.root, `fairtp${i}r${r}`);
      if (t.extra) console.error(`${v.name}: ${t.extra} attempt(s) beyond one per trial`);
      tp.get(v.name)!.push(t.trialsPerS);
      console.error(`round ${r + 1}: ${v.name}: ${t.trialsPerS.toFixed(0)} trials/s (${t.trials} in ${t.seconds.toFixed(2)} s)`);
    }
    for (const [i, v] of variants.entries()) {
      const l = await lateTeam(v.root, `fairlate${i}r${r}`);
      late.get(v.name)!.push(l);
      console.error(`round ${r + 1}: ${v.name}: team B's first start after ${l.firstStartMs.toFixed(0)} ms, its sweep done after ${l.doneMs.toFixed(0)} ms, A had completed ${l.aDoneWhenBDone}`);
    }
  }
  const cost = await claimCost();
  console.error(`claim statement: fair ${cost.fair.toFixed(2)} ms, by id ${cost.byId.toFixed(2)} ms (with the end of an earlier trial)`);
  const loadAfter = loadavg()[0]!;
  const rows = variants.map((v) => {
    const ls = late.get(v.name)!;
    return {
      name: v.name,
      trialsPerS: median(tp.get(v.name)!),
      all: tp.get(v.name)!,
      firstStartMs: median(ls.map((l) => l.firstStartMs)),
      doneMs: median(ls.map((l) => l.doneMs)),
      aDone: median(ls.map((l) => l.aDoneWhenBDone)),
    };
  });
  const fair = rows[0]!;
  const fifo = rows[1];
  const lines = [
    "## Fair share (`npx tsx bench/fairness.ts`)",
    "",
    `Machine: ${machine()}. Date: ${new Date().toISOString()}. Load average (1 min) ${load.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end (a shared machine: compare the rows, not the absolute figures). ${ROUNDS} rounds, the variants alternating; medians. Both variants run the same API, Postgres and Redis; the worker's code is this tree (fair share: Postgres picks the next trial, jobs are wake-up tokens) or a checkout of ${FIFO_REF.slice(0, 7)} (first in, first out: the job's own trial).`,
    "",
    `Throughput: 1 worker process × 8 slots, a no-op trainer (3 epoch writes + result per trial), ${TRIALS} trials of one team submitted over HTTP in sweeps of 320; wall time to the last result.`,
    `Late team: team A submits 200 trials (each 3 epochs of 20 ms), and once A fills the 8 slots team B submits 10; B's first start = B's sweep committed → B's first attempt opened.`,
    "",
    "| worker code | trials/s (median) | per round | team B's first start | team B's sweep done | A's trials done by then |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.name} | ${r.trialsPerS.toFixed(0)} | ${r.all.map((x) => x.toFixed(0)).join(", ")} | ${r.firstStartMs.toFixed(0)} ms | ${r.doneMs.toFixed(0)} ms | ${r.aDone} |`),
    "",
    `The claim statement alone (one connection, ${CLAIMS} claims, 5 teams × 640 waiting trials, about 8 running, each claim followed by the end of an earlier one): ${cost.fair.toFixed(2)} ms per fair claim against ${cost.byId.toFixed(2)} ms per claim by id (the FIFO code's statement).`,
    "",
    fifo ? `Fair share runs at ${(fair.trialsPerS / fifo.trialsPerS).toFixed(2)} × the FIFO throughput; team B starts ${(fifo.firstStartMs / Math.max(1, fair.firstStartMs)).toFixed(0)} × sooner.` : "No FIFO baseline in this run.",
    "",
    "Target: ≥ 400 trials/s with fair share on (on an idle machine; the FIFO code measured 450–510 there).",
    "",
  ];
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/fairness.md"), lines.join("\n"));
  console.log(lines.join("\n"));
  console.log(JSON.stringify({ lateTeamFirstStartMs: Math.round(fair.firstStartMs), trialsPerS: Math.round(fair.trialsPerS), ...(fifo ? { fifo: { lateTeamFirstStartMs: Math.round(fifo.firstStartMs), trialsPerS: Math.round(fifo.trialsPerS) } } : {}) }));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
