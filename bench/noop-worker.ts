/**
 * A worker node whose trials train nothing: the orchestrator's own cost (queue, lease, epoch and result writes)
 * with the trainer replaced by an in-process no-op that speaks the same messages. It reaches the truth as
 * apps/worker/src/main.ts does (connectStore: its own pool with DATABASE_URL, else the API with a worker token).
 * Started by bench/orchestrator.ts and bench/fleet.ts.
 */
import { parseEnv, workerEnv } from "@hypersweep/config";
import { createTrialQueue } from "@hypersweep/queue";
import { connectStore } from "../apps/worker/src/main.ts";
import type { TrialRunner } from "../apps/worker/src/runner.ts";
import { startWorkerNode } from "../apps/worker/src/worker.ts";

export class NoopRunner implements TrialRunner {
  constructor(private readonly epochs = 3) {}
  async run(r: Parameters<TrialRunner["run"]>[0]) {
    await r.onMessage({ type: "ready", backend: "noop", versions: {} });
    for (let e = 1; e <= this.epochs; e++) {
      await r.onMessage({ type: "epoch", epoch: e, trainLoss: 1 / e, valLoss: 1 / e, lr: r.spec.learningRate, durationMs: 0, metrics: { auc: 0.5 + e / 100, f1: 0.5 } });
    }
    const result = { type: "result" as const, bestEpoch: this.epochs, metrics: { auc: 0.5 + this.epochs / 100, f1: 0.5, valLoss: 1 / this.epochs } };
    await r.onMessage(result);
    return { kind: "result" as const, result };
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = parseEnv(workerEnv);
  const queue = createTrialQueue({ redisUrl: config.REDIS_URL, prefix: config.HYPERSWEEP_QUEUE_PREFIX });
  queue.on("error", () => {});
  const { store, db } = connectStore(config, process.env, queue);
  const node = await startWorkerNode({ config, db, store, queue, runner: new NoopRunner(Number(process.env.NOOP_EPOCHS ?? 3)) });
  process.send?.("ready");
  process.once("SIGTERM", () => void node.close().then(() => Promise.all([store.close(), queue.close()])).then(() => process.exit(0)));
}
