/** The API process: parse configuration once, connect, listen; close cleanly on SIGTERM/SIGINT. */
import { apiEnv, parseEnv } from "@hypersweep/config";
import { createDb } from "@hypersweep/db";
import { createTrialQueue } from "@hypersweep/queue";
import { buildApp } from "./app.ts";

export async function startApi(env: Record<string, string | undefined> = process.env) {
  const config = parseEnv(apiEnv, env);
  const db = createDb(config.DATABASE_URL, { poolSize: config.HYPERSWEEP_DB_POOL });
  const queue = createTrialQueue({ redisUrl: config.REDIS_URL, prefix: config.HYPERSWEEP_QUEUE_PREFIX });
  queue.on("error", () => {}); // reported by /readyz; a dead Redis must not crash the API
  const app = await buildApp({ db, queue, config });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  const close = async () => {
    await app.close();
    await queue.close().catch(() => {});
    await db.$disconnect();
  };
  return { app, address, close };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  startApi().then(
    ({ app, close }) => {
      const stop = () => void close().then(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      app.log.info("hypersweep api ready");
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
