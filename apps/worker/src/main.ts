/** The worker process: parse configuration once, start the node, drain on SIGTERM/SIGINT. */
import { parseEnv, workerEnv } from "@hypersweep/config";
import { createDb } from "@hypersweep/db";
import { createTrialQueue } from "@hypersweep/queue";
import { trainerRunners } from "./trainer-runners.ts";
import { startWorkerNode } from "./worker.ts";

export { DEFAULT_TRAINER_CMD, REPO_ROOT } from "./trainer-runners.ts";

export async function startWorker(env: Record<string, string | undefined> = process.env) {
  const config = parseEnv(workerEnv, env);
  const db = createDb(config.DATABASE_URL, { poolSize: 5 });
  const queue = createTrialQueue({ redisUrl: config.REDIS_URL, prefix: config.HYPERSWEEP_QUEUE_PREFIX });
  queue.on("error", () => {});
  const runner = trainerRunners(config);
  const node = await startWorkerNode({
    config, db, queue, runner,
    drainMs: config.HYPERSWEEP_DRAIN_MS,
    log: (msg, extra) => console.error(JSON.stringify({ t: new Date().toISOString(), msg, ...extra })),
  });
  const close = async () => {
    await node.close();
    await queue.close().catch(() => {});
    await db.$disconnect();
  };
  return { node, close };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  startWorker().then(
    ({ node, close }) => {
      console.error(JSON.stringify({ msg: "hypersweep worker ready", id: node.id }));
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
