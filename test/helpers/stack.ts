/**
 * A whole Hypersweep stack for end-to-end tests, against the real Postgres and Redis of this machine: its own
 * database (cloned from the migrated template) and queue prefix, the real API on a real socket, real workers
 * (in process, or as child processes that a test can SIGKILL) running a trainer command as child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { Queue } from "bullmq";
import { apiEnv, parseEnv, workerEnv } from "@hypersweep/config";
import { createDb, createTeam, createWorkerToken, type Db, type Prisma } from "@hypersweep/db";
import { createTrialQueue, redisConnection, type TrialQueue } from "@hypersweep/queue";
import { importDataset, synthDataset } from "@hypersweep/data";
import { buildApp } from "../../apps/api/src/app.ts";
import { HttpWorkerStore } from "../../apps/worker/src/http-store.ts";
import { trainerRunners } from "../../apps/worker/src/trainer-runners.ts";
import { startWorkerNode, type WorkerNode } from "../../apps/worker/src/worker.ts";
import { createTestDatabase, testQueuePrefix, type TestDatabase } from "./test-db.ts";
import { REDIS_URL } from "./pg-admin.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
export const FAKE_TRAINER = `node ${join(ROOT, "test/fixtures/fake-trainer.mjs")}`;
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** Fast lease and lock timings so fault tests finish in seconds. */
export const FAST_WORKER_ENV: Record<string, string> = {
  HYPERSWEEP_LEASE_MS: "2500",
  HYPERSWEEP_HEARTBEAT_MS: "500",
  HYPERSWEEP_LOCK_MS: "3000",
  HYPERSWEEP_STALLED_MS: "1000",
  HYPERSWEEP_RECONCILE_MS: "1000",
  HYPERSWEEP_KILL_GRACE_MS: "3000",
  HYPERSWEEP_MAX_ATTEMPTS: "3",
};

export interface Stack {
  db: Db;
  tdb: TestDatabase;
  prefix: string;
  queue: TrialQueue;
  app: FastifyInstance;
  url: string;
  tmp: string;
  pgProxy?: TcpProxy;
  redisProxy?: TcpProxy;
  team: { id: string; apiKey: string };
  dataset: { id: string; name: string; versionId: string };
  workerEnv(extra?: Record<string, string>): Record<string, string>;
  /**
   * Settings of a worker that reaches Postgres through an API (this stack's unless `apiUrl`) with a new worker
   * token: pass them to startWorker/spawnWorker, which then give the worker no DATABASE_URL.
   */
  viaApi(apiUrl?: string): Promise<Record<string, string>>;
  startWorker(extra?: Record<string, string>): Promise<WorkerNode>;
  spawnWorker(extra?: Record<string, string>): ChildProcess;
  /** Stops every worker this stack started (in process and child processes). */
  stopWorkers(): Promise<void>;
  http<T = any>(method: string, path: string, body?: unknown, key?: string | null): Promise<{ status: number; body: T }>;
  newTeam(name: string): Promise<{ id: string; apiKey: string }>;
  addDataset(teamId: string, name: string, images?: number): Promise<{ id: string; name: string; versionId: string }>;
  close(): Promise<void>;
}

export interface StackOptions {
  apiEnv?: Record<string, string>;
  images?: number;
  /** Redis for this stack (default: the machine's). */
  redisUrl?: string;
  /** Put a cuttable TCP proxy between the services under test and Postgres / Redis. */
  proxyPostgres?: boolean;
  proxyRedis?: boolean;
}

function viaProxy(url: string, proxy: TcpProxy | undefined): string {
  if (!proxy) return url;
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return u.toString();
}

export async function startStack(label: string, opts: StackOptions = {}): Promise<Stack> {
  const tdb = await createTestDatabase(label);
  const prefix = testQueuePrefix(label);
  const tmp = mkdtempSync(join(tmpdir(), `hs-${label}-`));
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const pgProxy = opts.proxyPostgres ? await startTcpProxy(Number(new URL(tdb.url).port || 5432)) : undefined;
  const redisProxy = opts.proxyRedis ? await startTcpProxy(Number(new URL(redisUrl).port || 6379)) : undefined;
  const baseEnv = {
    DATABASE_URL: viaProxy(tdb.url, pgProxy),
    REDIS_URL: viaProxy(redisUrl, redisProxy),
    HYPERSWEEP_QUEUE_PREFIX: prefix,
    HYPERSWEEP_DATA_DIR: join(tmp, "data"),
    HYPERSWEEP_CACHE_DIR: join(tmp, "cache"),
    LOG_LEVEL: "warn",
  };
  const config = parseEnv(apiEnv, { ...baseEnv, PORT: "0", HYPERSWEEP_ADMIN_TOKEN: ADMIN_TOKEN, ...opts.apiEnv });
  // The test's own client goes straight to Postgres; the API and workers go through the proxies.
  const db = createDb(tdb.url);
  const apiDb = pgProxy ? createDb(baseEnv.DATABASE_URL) : db;
  const queue = createTrialQueue({ redisUrl: baseEnv.REDIS_URL, prefix });
  queue.on("error", () => {});
  const app = await buildApp({ db: apiDb, queue, config }, { logger: false });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  const workers: WorkerNode[] = [];
  const children: ChildProcess[] = [];

  const http = async (method: string, path: string, body?: unknown, key: string | null = stack.team?.apiKey) => {
    const res = await fetch(`${address}${path}`, {
      method,
      headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as any };
  };

  const workerEnvFor = (extra: Record<string, string> = {}): Record<string, string> => {
    const env: Record<string, string> = {
      ...baseEnv,
      HYPERSWEEP_RUNS_DIR: join(tmp, "runs"),
      HYPERSWEEP_TRAINER_CMD: FAKE_TRAINER,
      ...FAST_WORKER_ENV,
      ...extra,
    };
    // A worker that reaches Postgres through the API is given no database credentials at all.
    if (extra.HYPERSWEEP_API_URL) delete env.DATABASE_URL;
    return env;
  };

  // 240 images: at this seed every split of both binary scenarios holds both classes (a sweep must be answerable).
  const addDataset = async (teamId: string, name: string, images = opts.images ?? 240) => {
    const src = join(tmp, `synth-${name}`);
    await synthDataset(src, { images, size: 24, seed: 7 });
    const imported = await importDataset(src, { dataRoot: baseEnv.HYPERSWEEP_DATA_DIR });
    const ds = await db.dataset.create({ data: { teamId, name } });
    const v = await db.datasetVersion.create({
      data: {
        datasetId: ds.id,
        contentHash: imported.contentHash,
        storagePath: imported.storagePath,
        imageCount: imported.rows.length,
        summary: imported.summary as unknown as Prisma.InputJsonValue,
        manifest: imported.rows as unknown as Prisma.InputJsonValue,
      },
    });
    return { id: ds.id, name, versionId: v.id };
  };

  const stack: Stack = {
    db, tdb, prefix, queue, app, url: address, tmp, pgProxy, redisProxy,
    team: undefined as unknown as Stack["team"],
    dataset: undefined as unknown as Stack["dataset"],
    workerEnv: workerEnvFor,
    http,
    addDataset,
    async newTeam(name) {
      const r = await createTeam(db, name);
      return { id: r.team.id, apiKey: r.apiKey };
    },
    async viaApi(apiUrl = address) {
      const { token } = await createWorkerToken(db, `node-${workers.length + children.length}`);
      return { HYPERSWEEP_API_URL: apiUrl, HYPERSWEEP_WORKER_TOKEN: token };
    },
    async startWorker(extra = {}) {
      const env = workerEnvFor(extra);
      const cfg = parseEnv(workerEnv, env);
      const viaApi = cfg.HYPERSWEEP_API_URL && cfg.HYPERSWEEP_WORKER_TOKEN ? new HttpWorkerStore(cfg.HYPERSWEEP_API_URL, cfg.HYPERSWEEP_WORKER_TOKEN) : undefined;
      const node = await startWorkerNode({
        config: cfg, ...(viaApi ? { store: viaApi } : { db: apiDb, queue }),
        // One runner per trainer the worker runs (HYPERSWEEP_TRAINERS), each with its command, as main.ts does.
        runner: trainerRunners(cfg, extra),
        drainMs: 2000,
      });
      workers.push(node);
      return node;
    },
    spawnWorker(extra = {}) {
      const env: Record<string, string | undefined> = { ...process.env, ...workerEnvFor(extra) };
      if (extra.HYPERSWEEP_API_URL) delete env.DATABASE_URL;
      const child = spawn("node", ["--import", "tsx", join(ROOT, "apps/worker/src/main.ts")], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr?.resume();
      children.push(child);
      return child;
    },
    async stopWorkers() {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await Promise.all(workers.splice(0).map((w) => w.close().catch(() => {})));
    },
    async close() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.close().catch(() => {})));
      await app.close();
      await pgProxy?.close();
      await redisProxy?.close();
      if (apiDb !== db) await apiDb.$disconnect();
      const q = new Queue("trials", { connection: redisConnection(redisUrl), prefix });
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
      await queue.close().catch(() => {});
      await db.$disconnect();
      await tdb.drop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  stack.team = await stack.newTeam(`team-${label}`);
  stack.dataset = await addDataset(stack.team.id, "stock");
  return stack;
}

/** Polls until `check` returns a truthy value (or throws after `ms`). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, ms = 30_000, every = 100): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * A small sweep body: the default preset's plan (4 learning rates × 5 subsets) with few, short epochs. Tests of
 * the search skip the automatic final stage (`final: false`) unless their overrides say `final`; the final
 * stage's own tests opt in.
 */
export function sweepBody(datasetId: string, extra: Record<string, unknown> = {}) {
  const { overrides, ...rest } = extra as { overrides?: Record<string, unknown> };
  return {
    dataset: datasetId,
    scenario: { modality: "ct", task: "binary" },
    architectures: ["small_cnn"],
    seed: 42,
    ...rest,
    overrides: { final: false, ...(overrides ?? { searchEpochs: 3, imageSize: 16 }) },
  };
}
