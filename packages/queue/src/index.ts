/**
 * The queue is transport, not truth, and its jobs are wake-up tokens: a worker that receives any job claims the
 * trial fair share says runs next (Postgres chooses: @hypersweep/db claimNextTrial), which need not be the trial
 * the job is named after. There is one live job per trial owed (waiting or running): a job is enqueued with
 * the id of a trial when the trial is stored (so a second enqueue of the same trial is a no-op), and ends when
 * the trial its worker ran ends. A job carries only ids; everything a worker needs is read from Postgres.
 * Producer side only: this package never imports a BullMQ Worker.
 */
import { Queue, type ConnectionOptions } from "bullmq";
import { z } from "zod";

export const TRIALS_QUEUE = "trials";

export const TrialJobData = z.strictObject({
  /** The trial the job was enqueued for (its job id); the worker may run another one. */
  trialId: z.string().uuid(),
  sweepId: z.string().uuid(),
  /** How many times in a row this token found nothing it could start while trials were owed (its back-off). */
  waits: z.number().int().min(0).optional(),
});
export type TrialJobData = z.infer<typeof TrialJobData>;

export interface QueueConfig {
  /** Redis URL. */
  redisUrl: string;
  /** Key prefix in Redis: one per deployment (and per test file). @defaultValue "hypersweep" */
  prefix?: string;
}

/** ioredis options from a URL, in the shape BullMQ accepts. */
export function redisConnection(redisUrl: string, extra: Record<string, unknown> = {}): ConnectionOptions {
  const u = new URL(redisUrl);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname !== "/" ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === "rediss:" ? {} : undefined,
    ...extra,
  } as ConnectionOptions;
}

export type TrialQueue = Queue<TrialJobData, unknown, string>;

/**
 * The producer's queue. Commands fail fast while Redis is unreachable (no offline queue), so a request never
 * hangs on a dead Redis: Postgres keeps the plan and the reconciler enqueues what is owed once Redis is back.
 */
export function createTrialQueue(cfg: QueueConfig): TrialQueue {
  return new Queue<TrialJobData, unknown, string>(TRIALS_QUEUE, {
    connection: redisConnection(cfg.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 }),
    prefix: cfg.prefix ?? "hypersweep",
    defaultJobOptions: {
      // Postgres decides how often a trial is tried (attempt_count); BullMQ only redelivers.
      attempts: 1000,
      backoff: { type: "fixed", delay: 500 },
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
}

/** Enqueue trials with job id = trial id; re-adding a trial that is already queued is a no-op. */
export async function enqueueTrials(queue: TrialQueue, jobs: TrialJobData[]): Promise<void> {
  if (jobs.length === 0) return;
  await queue.addBulk(jobs.map((data) => ({ name: "trial", data, opts: { jobId: data.trialId } })));
}

const LIVE_STATES = ["waiting", "delayed", "active", "prioritized", "waiting-children"] as const;

/** How many jobs Redis holds in any live state: the wake-up tokens in circulation. */
export async function liveTokenCount(queue: TrialQueue): Promise<number> {
  const counts = await queue.getJobCounts(...LIVE_STATES);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * Wakes up to `n` tokens that are waiting out a back-off (delayed), earliest first: called when a running trial
 * ends or a quota grows, so that a trial its team's quota held back starts without waiting for the back-off.
 */
export async function wakeParkedTokens(queue: TrialQueue, n = 1): Promise<number> {
  const parked = await queue.getDelayed(0, n - 1);
  let woken = 0;
  for (const job of parked) {
    if (!job) continue;
    // Another worker may have woken or taken it meanwhile: that is as good.
    if (await job.promote().then(() => true, () => false)) woken++;
  }
  return woken;
}

/** The trial ids Redis holds in any live state (waiting, delayed, active, prioritized). */
export async function heldTrialIds(queue: TrialQueue): Promise<Set<string>> {
  const jobs = await queue.getJobs([...LIVE_STATES]);
  return new Set(jobs.filter(Boolean).map((j) => j.id as string));
}

/** Remove queued jobs of trials that must not start (cancellation); active jobs are stopped by their worker. */
export async function removeTrialJobs(queue: TrialQueue, trialIds: string[]): Promise<void> {
  await Promise.all(trialIds.map((id) => queue.remove(id).catch(() => 0)));
}
