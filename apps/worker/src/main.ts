/** The worker process: parse configuration once, start the node, drain on SIGTERM/SIGINT. */
import { ConfigError, parseEnv, workerEnv, type WorkerConfig } from "@hypersweep/config";
import { createDb, type Db } from "@hypersweep/db";
import { createTrialQueue, type TrialQueue } from "@hypersweep/queue";
import { DirectWorkerStore } from "./direct-store.ts";
import { HttpWorkerStore } from "./http-store.ts";
import type { WorkerStore } from "./store.ts";
import { trainerRunners } from "./trainer-runners.ts";
import { startWorkerNode } from "./worker.ts";

export { DEFAULT_TRAINER_CMD, REPO_ROOT } from "./trainer-runners.ts";

/** Postgres connections of one worker process in direct mode (plus half as many for epoch progress). */
export const WORKER_POOL_SIZE = 5;

export interface WorkerConnection {
  /** "direct": this node holds DATABASE_URL; "api": it reaches Postgres through the API with a worker token. */
  mode: "direct" | "api";
  store: WorkerStore;
  /** Postgres (direct mode only): the node then also runs the reconciler. */
  db?: Db;
}

/**
 * How this node reaches the truth. DATABASE_URL set: directly (its own pool). Else HYPERSWEEP_API_URL and
 * HYPERSWEEP_WORKER_TOKEN: through the API (no database credentials on the node). Else directly, at the default
 * DATABASE_URL (a single machine).
 */
export function connectStore(config: WorkerConfig, env: Record<string, string | undefined>, queue: TrialQueue): WorkerConnection {
  const viaApi = !env.DATABASE_URL && (config.HYPERSWEEP_API_URL || config.HYPERSWEEP_WORKER_TOKEN);
  if (viaApi) {
    const missing = !config.HYPERSWEEP_API_URL ? "HYPERSWEEP_API_URL" : !config.HYPERSWEEP_WORKER_TOKEN ? "HYPERSWEEP_WORKER_TOKEN" : null;
    if (missing) {
      throw new ConfigError([{ variable: missing, message: "a worker without DATABASE_URL reaches Postgres through the API: set both HYPERSWEEP_API_URL and HYPERSWEEP_WORKER_TOKEN" }]);
    }
    return { mode: "api", store: new HttpWorkerStore(config.HYPERSWEEP_API_URL!, config.HYPERSWEEP_WORKER_TOKEN!) };
  }
  const db = createDb(config.DATABASE_URL, { poolSize: WORKER_POOL_SIZE });
  return { mode: "direct", db, store: new DirectWorkerStore(db, queue, () => db.$disconnect()) };
}

export async function startWorker(env: Record<string, string | undefined> = process.env) {
  const config = parseEnv(workerEnv, env);
  const queue = createTrialQueue({ redisUrl: config.REDIS_URL, prefix: config.HYPERSWEEP_QUEUE_PREFIX });
  queue.on("error", () => {});
  const { mode, store, db } = connectStore(config, env, queue);
  const runner = trainerRunners(config);
  const node = await startWorkerNode({
    config, db, store, queue, runner,
    drainMs: config.HYPERSWEEP_DRAIN_MS,
    log: (msg, extra) => console.error(JSON.stringify({ t: new Date().toISOString(), msg, ...extra })),
  }).catch(async (err) => {
    await queue.close().catch(() => {});
    await store.close();
    throw err;
  });
  const close = async () => {
    await node.close();
    await queue.close().catch(() => {});
    await store.close();
  };
  return { node, close, mode };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  startWorker().then(
    ({ node, close, mode }) => {
      console.error(JSON.stringify({ msg: "hypersweep worker ready", id: node.id, mode }));
      const stop = () => void close().then(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
