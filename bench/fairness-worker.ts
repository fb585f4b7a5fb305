/**
 * A worker node with a no-op trainer (bench/noop-worker.ts's) whose epochs may take time (NOOP_EPOCH_MS), built
 * from the source tree at FAIRNESS_ROOT (default: this one), so that bench/fairness.ts can run today's code and a
 * checkout of an older commit side by side. Started by bench/fairness.ts; says "ready" on IPC.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(process.env.FAIRNESS_ROOT ?? resolve(import.meta.dirname, ".."));
const from = (p: string) => import(pathToFileURL(resolve(root, p)).href);
const { parseEnv, workerEnv } = await from("packages/config/src/index.ts");
const { createDb } = await from("packages/db/src/index.ts");
const { createTrialQueue } = await from("packages/queue/src/index.ts");
const { startWorkerNode } = await from("apps/worker/src/worker.ts");

const epochs = Number(process.env.NOOP_EPOCHS ?? 3);
const epochMs = Number(process.env.NOOP_EPOCH_MS ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  spec: { learningRate: number };
  onMessage: (m: Record<string, unknown>) => Promise<void>;
}
const runner = {
  async run(r: Run) {
    await r.onMessage({ type: "ready", backend: "noop", versions: {} });
    for (let e = 1; e <= epochs; e++) {
      if (epochMs) await sleep(epochMs);
      await r.onMessage({ type: "epoch", epoch: e, trainLoss: 1 / e, valLoss: 1 / e, lr: r.spec.learningRate, durationMs: epochMs, metrics: { auc: 0.5 + e / 100, f1: 0.5 } });
    }
    const result = { type: "result" as const, bestEpoch: epochs, metrics: { auc: 0.5 + epochs / 100, f1: 0.5, valLoss: 1 / epochs } };
    await r.onMessage(result);
    return { kind: "result" as const, result };
  },
};

const config = parseEnv(workerEnv);
const db = createDb(config.DATABASE_URL, { poolSize: 10 });
const queue = createTrialQueue({ redisUrl: config.REDIS_URL, prefix: config.HYPERSWEEP_QUEUE_PREFIX });
const node = await startWorkerNode({ config, db, queue, runner });
process.send?.("ready");
process.once("SIGTERM", () => void node.close().then(() => db.$disconnect()).then(() => process.exit(0)));
