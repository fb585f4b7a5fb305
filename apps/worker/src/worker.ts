/**
 * A worker node: a BullMQ Worker whose processor runs one trial per job through a TrialRunner, with
 * `concurrency` trainers at once, one GPU each when the node has GPUs. A job is a wake-up token: the trial run is
 * the one fair share says is next (Postgres chooses, claimNextTrial), whatever trial the job was named after. It reaches the truth
 * through a WorkerStore (Postgres directly, or the API), registers itself (GET /v1/workers shows the fleet), runs
 * the reconciler when it holds Postgres itself, and drains on close(): it takes no new trials, lets running ones
 * finish for `drainMs`, then hands the rest back (checkpointed) for another worker.
 */
import { availableParallelism, hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { DelayedError, Worker, type Job } from "bullmq";
import type { WorkerConfig } from "@hypersweep/config";
import type { Db } from "@hypersweep/db";
import { createTrialQueue, redisConnection, TRIALS_QUEUE, TrialJobData, wakeParkedTokens, type TrialQueue } from "@hypersweep/queue";
import { DirectWorkerStore } from "./direct-store.ts";
import { startReconciler } from "@hypersweep/queue/reconcile";
import type { WorkerStore } from "./store.ts";
import type { TrialRunner } from "./runner.ts";
import { processNextTrial, whileDbDown, type NextResult, type ProcessorConfig } from "./trial-processor.ts";
import { withCacheFetch } from "./cache-fetch/fetching-runner.ts";

export const WORKER_VERSION = "0.1.0";

export interface WorkerNodeOptions {
  config: WorkerConfig;
  /**
   * Postgres, when this node holds DATABASE_URL: the node then runs the packages/db statements itself (unless
   * `store` is given) and the reconciler (HYPERSWEEP_RECONCILE_MS > 0).
   */
  db?: Db;
  /** How the node reaches the truth; default: directly, through `db`. */
  store?: WorkerStore;
  /** Producer queue (for the reconciler and the final stage, when the node holds Postgres). */
  queue?: TrialQueue;
  runner: TrialRunner;
  /** Backend the trainers are expected to use (shown in the fleet view; each attempt records its own). */
  backend?: string;
  /** How long close() lets running trials finish before handing them back, ms. @defaultValue 30000 */
  drainMs?: number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  onResult?: (trialId: string, r: NextResult) => void;
}

export interface WorkerNode {
  id: string;
  worker: Worker;
  /** True while this node is quarantined (it takes no trial; the ones it was running finish). */
  quarantined(): boolean;
  close(): Promise<void>;
}

/** How often a quarantined node looks at its row for a release or the end of its cool-down, ms. */
const QUARANTINE_POLL_MS = 1000;

class GpuPool {
  private free: string[];
  constructor(ids: string[]) {
    this.free = [...ids];
  }
  take(): string | undefined {
    return this.free.shift();
  }
  give(id: string | undefined) {
    if (id !== undefined) this.free.push(id);
  }
}

/** Trainer processes at once: HYPERSWEEP_CONCURRENCY, else one per GPU listed, else 1. */
export function workerConcurrency(cfg: Pick<WorkerConfig, "HYPERSWEEP_CONCURRENCY" | "HYPERSWEEP_GPUS">): number {
  const gpus = cfg.HYPERSWEEP_GPUS ? cfg.HYPERSWEEP_GPUS.split(",") : [];
  return cfg.HYPERSWEEP_CONCURRENCY ?? Math.max(1, gpus.length);
}

/** Threads per trainer process: HYPERSWEEP_TRAINER_THREADS, else the cores shared out over the concurrency. */
export function trainerThreads(cfg: Pick<WorkerConfig, "HYPERSWEEP_CONCURRENCY" | "HYPERSWEEP_GPUS" | "HYPERSWEEP_TRAINER_THREADS">, cores = availableParallelism()): number {
  return cfg.HYPERSWEEP_TRAINER_THREADS ?? Math.max(1, Math.floor(cores / workerConcurrency(cfg)));
}

/**
 * Wakes one parked token per trial that ended here, the ends of `windowMs` together in one Redis round trip (a
 * busy node ends a trial every few milliseconds; most of the time no token is parked at all).
 */
export function tokenWaker(queue: TrialQueue, windowMs = 20) {
  let owed = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const n = owed;
    owed = 0;
    wakeParkedTokens(queue, n).catch(() => {});
  };
  return {
    trialEnded() {
      owed++;
      timer ??= setTimeout(flush, windowMs);
    },
    /** Wakes what is owed now (on close). */
    flush() {
      if (timer) clearTimeout(timer);
      if (owed) flush();
    },
  };
}

/** Back-off of a token that found nothing it could start: 250 ms doubling up to `maxMs`, with ±20% jitter. */
export function idleDelay(waits: number, maxMs: number): number {
  const base = Math.min(maxMs, 250 * 2 ** Math.min(waits - 1, 20));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}

export async function startWorkerNode(o: WorkerNodeOptions): Promise<WorkerNode> {
  const cfg = o.config;
  if (!o.store && !(o.db && o.queue)) throw new Error("startWorkerNode: give a store, or a db and a queue");
  const store = o.store ?? new DirectWorkerStore(o.db!, o.queue!);
  // Wakes tokens waiting out a back-off when a trial ends (a node without the producer queue opens its own).
  const wakeQueue = o.queue ?? createTrialQueue({ redisUrl: cfg.REDIS_URL, prefix: cfg.HYPERSWEEP_QUEUE_PREFIX });
  wakeQueue.on("error", () => {});
  const waker = tokenWaker(wakeQueue);
  const gpus = cfg.HYPERSWEEP_GPUS ? cfg.HYPERSWEEP_GPUS.split(",") : [];
  const concurrency = workerConcurrency(cfg);
  const threads = trainerThreads(cfg);
  const id = cfg.HYPERSWEEP_WORKER_ID ?? `${hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;
  const log = o.log ?? (() => {});
  const pool = new GpuPool(gpus);
  const drain = new AbortController();
  // Nodes without the shared volume fetch each trial's data from the API first (HYPERSWEEP_CACHE_FETCH).
  const runner = withCacheFetch(o.runner, cfg, log);
  const pcfg: ProcessorConfig = {
    workerId: id,
    leaseMs: cfg.HYPERSWEEP_LEASE_MS,
    heartbeatMs: cfg.HYPERSWEEP_HEARTBEAT_MS,
    maxAttempts: cfg.HYPERSWEEP_MAX_ATTEMPTS,
    runsDir: cfg.HYPERSWEEP_RUNS_DIR,
    cacheDir: cfg.HYPERSWEEP_CACHE_DIR,
    dataDir: cfg.HYPERSWEEP_DATA_DIR,
    backend: cfg.HYPERSWEEP_BACKEND,
    trainers: cfg.HYPERSWEEP_TRAINERS,
    quarantine: { failures: cfg.HYPERSWEEP_QUARANTINE_FAILURES, cooldownMs: cfg.HYPERSWEEP_QUARANTINE_COOLDOWN_MS },
  };

  const info = {
    id, host: hostname(), pid: process.pid, gpus, backend: o.backend ?? cfg.HYPERSWEEP_BACKEND ?? null, version: WORKER_VERSION, concurrency,
    trainers: [...cfg.HYPERSWEEP_TRAINERS], backends: {} as Record<string, string>,
  };
  // A node that starts while the truth is unreachable (Postgres, or the API) waits for it.
  // Said at once and every 30 s: a node that sits silent while its truth is away looks broken.
  let said = -Infinity;
  await whileDbDown(() => store.registerWorker(info), undefined, store.isUnavailable, (err, waited) => {
    if (waited - said < 30_000) return;
    said = waited;
    log(`cannot register yet: ${(err as Error).message}; retrying for up to 15 minutes`, { workerId: id, waitedMs: waited });
  });
  // The fleet view shows the backend this node's trainers actually got (known once each one starts).
  const onReady = (backend: string, trainer: string) => {
    if (info.backend === backend && info.backends[trainer] === backend) return;
    info.backend = backend;
    info.backends = { ...info.backends, [trainer]: backend };
    store.registerWorker(info).catch(() => {});
  };

  // Quarantine: Postgres decides it (in the transaction that records the failure); this node then stops pulling
  // jobs at once (the trials it is running go on) and polls its row until it is released or the cool-down ends.
  let quarantined = false;
  let poll: NodeJS.Timeout | undefined;
  const watchQuarantine = () => {
    poll ??= setInterval(() => {
      store.quarantineState(id).then(
        (state) => {
          if (state.quarantined || !quarantined) return;
          quarantined = false;
          clearInterval(poll);
          poll = undefined;
          log("quarantine over: taking trials again", { workerId: id });
          void worker.resume();
        },
        (err) => log(`quarantine poll failed: ${(err as Error).message}`),
      );
    }, QUARANTINE_POLL_MS);
  };
  const enterQuarantine = (why: string) => {
    if (quarantined) return;
    quarantined = true;
    log(`quarantined: ${why}; taking no trials until released`, { workerId: id });
    void worker.pause(true);
    watchQuarantine();
  };

  const processor = async (job: Job<TrialJobData>, token?: string) => {
    const data = TrialJobData.parse(job.data);
    if (quarantined) {
      // Fetched as the node was being paused: leave it, unclaimed, to another worker.
      await job.moveToDelayed(Date.now() + QUARANTINE_POLL_MS, token);
      throw new DelayedError();
    }
    const gpu = pool.take();
    try {
      const r = await processNextTrial(store, runner, pcfg, {
        log,
        drain: drain.signal,
        onReady,
        env: { HYPERSWEEP_TRAINER_THREADS: String(threads), ...(gpu !== undefined ? { CUDA_VISIBLE_DEVICES: gpu } : {}) },
      });
      if (r.kind === "idle") {
        // Nothing owed at all: this token is one too many (the reconciler adds one whenever a trial lacks it).
        if (!r.owed) return "idle";
        // Trials wait but none may start here now (quotas, trainers): look again after a back-off, or sooner
        // when a trial ends somewhere (wakeParkedTokens). Never a busy loop.
        const waits = (data.waits ?? 0) + 1;
        await job.updateData({ ...data, waits });
        await job.moveToDelayed(Date.now() + idleDelay(waits, cfg.HYPERSWEEP_IDLE_MAX_MS), token);
        throw new DelayedError();
      }
      if ((r.kind === "succeeded" && !r.finalStageChecked) || (r.kind === "failed" && !r.retry)) {
        // The last search trial of an architecture queues its winner's final training (the reconciler is the safety net).
        await store.ensureFinalStage(r.sweepId, (m) => log(m)).catch((err) => log(`final stage of sweep ${r.sweepId} left to the reconciler: ${(err as Error).message}`));
      }
      if (r.kind === "failed" && r.quarantined) enterQuarantine(r.quarantined.reason);
      o.onResult?.(r.trialId, r);
      // A slot of the trial's team is free again: a token waiting out a back-off may now start a trial.
      waker.trialEnded();
      if (r.kind === "held") {
        // Only a claim by id can meet a held trial; a fair claim never does. Look again when its lease ends.
        await job.moveToDelayed(r.until.getTime() + 250, token);
        throw new DelayedError();
      }
      if ((r.kind === "failed" && r.retry) || r.kind === "released") {
        // Postgres has put the trial back to queued; the token comes back after BullMQ's backoff.
        throw new Error(r.kind === "released" ? "handed back on shutdown" : `attempt ${r.attempt} failed (${r.reason}); retrying`);
      }
      return r.kind;
    } finally {
      pool.give(gpu);
    }
  };

  const worker = new Worker<TrialJobData>(TRIALS_QUEUE, processor, {
    connection: redisConnection(cfg.REDIS_URL, { maxRetriesPerRequest: null }),
    prefix: cfg.HYPERSWEEP_QUEUE_PREFIX,
    concurrency,
    lockDuration: cfg.HYPERSWEEP_LOCK_MS,
    stalledInterval: cfg.HYPERSWEEP_STALLED_MS,
    // A stalled job comes back; Postgres decides whether it still needs running.
    maxStalledCount: 1000,
  });
  worker.on("error", (err) => log(`queue error: ${err.message}`));
  // A node restarted under the same id stays in quarantine.
  const state = await store.quarantineState(id).catch(() => ({ quarantined: false }));
  if (state.quarantined) enterQuarantine("still in quarantine from before this start");

  const beat = setInterval(() => {
    store.workerHeartbeat(id).catch(() => {});
  }, 5000);
  const lease = { leaseMs: cfg.HYPERSWEEP_LEASE_MS, maxAttempts: cfg.HYPERSWEEP_MAX_ATTEMPTS };
  const stopReconciler = o.db && o.queue && cfg.HYPERSWEEP_RECONCILE_MS > 0 ? startReconciler(o.db, o.queue, cfg.HYPERSWEEP_RECONCILE_MS, (m) => log(m), lease) : () => {};

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      stopReconciler();
      clearInterval(beat);
      clearInterval(poll);
      const handBack = setTimeout(() => drain.abort(), o.drainMs ?? 30_000);
      await worker.close();
      clearTimeout(handBack);
      waker.flush();
      await store.workerHeartbeat(id, "stopped").catch(() => {});
      if (wakeQueue !== o.queue) await wakeQueue.close().catch(() => {});
    })());

  return { id, worker, quarantined: () => quarantined, close };
}
