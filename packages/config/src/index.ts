/**
 * Configuration is parsed once, at start, from environment variables with a zod schema; safe local defaults
 * make a fresh machine work out of the box. A bad value stops the process with a message naming the variable.
 */
import { z } from "zod";

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID" as const;
  constructor(readonly problems: Array<{ variable: string; message: string }>) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseEnv<S extends z.ZodType<Record<string, unknown>>>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.output<S>> {
  const r = schema.safeParse(env);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => ({ variable: String(i.path[0] ?? "(env)"), message: i.message })));
  }
  return Object.freeze(r.data);
}

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** Variables every process shares. */
export const commonEnv = {
  /** Postgres, the truth. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL").default("postgresql://root@127.0.0.1:5432/hypersweep"),
  /** Redis, the transport. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL").default("redis://127.0.0.1:6379"),
  /** Key prefix of the queues in Redis (one per deployment). */
  HYPERSWEEP_QUEUE_PREFIX: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only").default("hypersweep"),
  /** Where imported dataset versions are stored (shared by API and workers; a shared volume across nodes). */
  HYPERSWEEP_DATA_DIR: z.string().min(1).default(".hypersweep/data"),
  /** Where the preprocessing cache lives (a shared volume across worker nodes, or local disk per node). */
  HYPERSWEEP_CACHE_DIR: z.string().min(1).default(".hypersweep/cache"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
};

/** Per-team limits of the API (each answered 429 with a message naming the limit). */
export const apiLimitsEnv = {
  /** Trials a team may have queued at once: a sweep that would go beyond is refused whole. */
  HYPERSWEEP_MAX_QUEUED_TRIALS: intFrom(2_000, 1),
  /** Event streams (GET /v1/sweeps/:id/events) a team may hold open at once, per API process. */
  HYPERSWEEP_MAX_STREAMS: intFrom(50, 1),
  /** Requests per minute per team to /v1 (per API process; 0: no limit). */
  HYPERSWEEP_RATE_LIMIT: intFrom(3_000, 0),
  /** What one sweep may cost: a sweep past any of these is refused (400 naming the field). Raise up to the caps. */
  HYPERSWEEP_MAX_LEARNING_RATE: z.coerce.number().positive().max(10).default(1),
  HYPERSWEEP_MAX_BATCH_SIZE: intFrom(1024, 1).pipe(z.number().max(4096)),
  HYPERSWEEP_MAX_IMAGE_SIZE: intFrom(1024, 8).pipe(z.number().max(2048)),
  /** Search and final epochs alike. */
  HYPERSWEEP_MAX_EPOCHS: intFrom(500, 1).pipe(z.number().max(1000)),
  /** The trainer of a sweep that names none (`trainer` in POST /v1/sweeps). */
  HYPERSWEEP_DEFAULT_TRAINER: z.enum(["tfjs", "pytorch"]).default("tfjs"),
};

export const apiEnv = z.object({
  ...commonEnv,
  ...apiLimitsEnv,
  HOST: z.string().default("127.0.0.1"),
  PORT: intFrom(8080).pipe(z.number().max(65535)),
  /** Token for /v1/admin (creating teams and keys). Admin routes answer 401 while it is unset. */
  HYPERSWEEP_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Largest JSON body, in bytes. */
  HYPERSWEEP_BODY_LIMIT: intFrom(1_048_576, 1024),
  /** Largest dataset upload, in bytes. */
  HYPERSWEEP_UPLOAD_LIMIT: intFrom(2 * 1024 ** 3, 1024),
  /**
   * Unpacked bytes allowed per uploaded byte, for a whole archive and for each file in it (never less than
   * 64 MiB): images are already compressed, so a real dataset unpacks to about its own size.
   */
  HYPERSWEEP_UPLOAD_MAX_RATIO: intFrom(4, 1),
  /** Largest total unpacked size of one upload, in bytes, whatever its ratio. */
  HYPERSWEEP_UPLOAD_MAX_UNPACKED: intFrom(8 * 1024 ** 3, 1024),
  /** Largest single file of an upload, unpacked, in bytes, whatever its ratio. */
  HYPERSWEEP_UPLOAD_MAX_FILE: intFrom(256 * 1024 ** 2, 1024),
  /** Most entries (files and folders) in an upload; also at most 1,000 plus one per 256 bytes uploaded. */
  HYPERSWEEP_UPLOAD_MAX_ENTRIES: intFrom(50_000, 1),
  /** Most rows in a dataset's manifest.csv. */
  HYPERSWEEP_UPLOAD_MAX_ROWS: intFrom(50_000, 1),
  /** Largest pretrained weights file (.safetensors), in bytes (wide_resnet50_2 in float32 is 263 MB). */
  HYPERSWEEP_WEIGHTS_LIMIT: intFrom(1024 ** 3, 1024),
  /** Largest file of a final model a worker node uploads (PUT /v1/worker/models/:id/:name), in bytes. */
  HYPERSWEEP_MODEL_LIMIT: intFrom(2 * 1024 ** 3, 1024),
  /**
   * Stored final models no trial's result names, partial uploads and models without a manifest are deleted once
   * they are older than this, ms (their newest file): never sooner, so an upload in flight and a model whose result
   * is about to be recorded stay. At least a minute.
   */
  HYPERSWEEP_MODEL_GRACE_MS: intFrom(3_600_000, 60_000),
  /** How often this API process deletes those models (and once at start), ms; 0: only on POST /v1/admin/models/prune. */
  HYPERSWEEP_MODEL_PRUNE_MS: intFrom(3_600_000, 0),
  /**
   * Origins (comma-separated, e.g. https://wall.example.org) whose pages may call the API from a browser (CORS),
   * for dashboards hosted elsewhere. Unset: CORS is off and only the dashboard served at / can call the API.
   */
  HYPERSWEEP_CORS_ORIGINS: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, "each origin is scheme://host[:port], no path"))),
  /** The built dashboard (static files served at /); default: apps/dashboard/dist of this checkout. */
  HYPERSWEEP_DASHBOARD_DIR: z.string().min(1).optional(),
  /** Bearer token that GET /metrics requires (it shows every team's counts). Unset: /metrics is off (404)... */
  HYPERSWEEP_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** ...unless this is true: /metrics without a token, for a port only the scraper can reach. */
  HYPERSWEEP_METRICS_PUBLIC: z.stringbool().default(false),
  /**
   * The API runs the reconciler (and the final stage's safety net) every this many ms; 0: off. Set it when the
   * workers reach Postgres through the API (they then run no reconciler of their own).
   */
  HYPERSWEEP_RECONCILE_MS: intFrom(0, 0),
  /**
   * Postgres connections of this API process (plus half as many for epoch progress and one for events). Raise it
   * when many worker nodes reach Postgres through this process: their writes wait for a free connection here.
   */
  HYPERSWEEP_DB_POOL: intFrom(10, 1).pipe(z.number().max(200)),
});
export type ApiConfig = z.output<typeof apiEnv>;

export const workerEnv = z.object({
  ...commonEnv,
  /** Trainer processes at once: one per GPU, or one per core on CPU. Default: GPUs listed, else 1. */
  HYPERSWEEP_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /** GPU ids this node may use (comma-separated); each trainer process gets its own via CUDA_VISIBLE_DEVICES. */
  HYPERSWEEP_GPUS: z.string().regex(/^(\d+(,\d+)*)?$/, "comma-separated GPU ids, e.g. 0,1").default(""),
  /**
   * Threads each trainer process may use (passed to it as HYPERSWEEP_TRAINER_THREADS; the wasm backend runs its
   * kernels on that many). Default: this machine's cores divided by the concurrency, at least 1.
   */
  HYPERSWEEP_TRAINER_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  /** The tfjs trainer's command (JSON lines contract); default: the built-in TensorFlow.js trainer. */
  HYPERSWEEP_TRAINER_CMD: z.string().optional(),
  /**
   * The trainers this worker runs (comma-separated names, as in trials.trainer): it claims only trials that
   * need one of them. Default: tfjs (the built-in TensorFlow.js trainer).
   */
  HYPERSWEEP_TRAINERS: z
    .string()
    .regex(/^(tfjs|pytorch)(,(tfjs|pytorch))*$/, "comma-separated trainer names out of tfjs, pytorch, e.g. tfjs,pytorch")
    .default("tfjs")
    .transform((v) => [...new Set(v.split(","))]),
  /** The pytorch trainer's command; default: python3 -m hypersweep_trainer, with PYTHONPATH=trainers/pytorch of this checkout. */
  HYPERSWEEP_PYTORCH_CMD: z.string().optional(),
  /**
   * Longest a wake-up token waits before looking again when every waiting trial is out of this worker's reach
   * (its team at its running quota, or another trainer), ms. A trial that ends wakes one waiting token at once.
   */
  HYPERSWEEP_IDLE_MAX_MS: intFrom(30_000, 100),
  /** Force a training backend (tensorflow-gpu, tensorflow, wasm, cpu); default: the best that loads. */
  HYPERSWEEP_BACKEND: z.enum(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]).optional(),
  /** Where trial checkpoints and weights go. */
  HYPERSWEEP_RUNS_DIR: z.string().min(1).default(".hypersweep/runs"),
  /** Lease life without a heartbeat, ms. */
  HYPERSWEEP_LEASE_MS: intFrom(15_000, 500),
  /** Heartbeat period, ms (well under the lease). */
  HYPERSWEEP_HEARTBEAT_MS: intFrom(3_000, 100),
  /** Attempts per trial before it fails for good (attempts excused by a quarantine do not count). */
  HYPERSWEEP_MAX_ATTEMPTS: intFrom(3, 1),
  /**
   * Consecutive attempts failed for reasons of the node (trainer crash, start failure, protocol, internal or
   * data error; not divergence, a bad spec or cancellation) after which this worker is quarantined: it takes no
   * trial until an admin releases it or the cool-down passes. 0: never.
   */
  HYPERSWEEP_QUARANTINE_FAILURES: intFrom(3, 0),
  /** How long a quarantine lasts unless an admin releases the worker first, ms. */
  HYPERSWEEP_QUARANTINE_COOLDOWN_MS: intFrom(30 * 60_000, 1000),
  /** BullMQ lock duration, ms. */
  HYPERSWEEP_LOCK_MS: intFrom(30_000, 500),
  /** BullMQ stalled-job check period, ms. */
  HYPERSWEEP_STALLED_MS: intFrom(15_000, 100),
  /** Reconciler period, ms (0 turns it off in this process). */
  HYPERSWEEP_RECONCILE_MS: intFrom(5_000, 0),
  /** Grace for a trainer to stop after SIGTERM before SIGKILL, ms. */
  HYPERSWEEP_KILL_GRACE_MS: intFrom(10_000, 100),
  /** On SIGTERM, how long running trials may finish before they are handed back (checkpointed), ms. */
  HYPERSWEEP_DRAIN_MS: intFrom(30_000, 0),
  /** Port for the worker's own Prometheus metrics (0: off). */
  HYPERSWEEP_WORKER_METRICS_PORT: intFrom(0, 0),
  HYPERSWEEP_WORKER_ID: z.string().optional(),
  /** The API this node talks to for its /v1/worker routes (e.g. https://hypersweep.example.org). */
  HYPERSWEEP_API_URL: z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL").optional(),
  /** The node's worker token (hsw_..., from `hypersweep admin create-worker-token <name>`), sent to /v1/worker routes. */
  HYPERSWEEP_WORKER_TOKEN: z.string().regex(/^hsw_[\w-]+$/, "must be a worker token (hsw_...), not a team API key").optional(),
  /**
   * Fetch the data a trainer reads (a version's preprocessed cache, its manifest, pretrained weights) from the API
   * into HYPERSWEEP_CACHE_DIR: `true` always, `auto` when this node cannot read the version's directory (needs
   * HYPERSWEEP_API_URL and HYPERSWEEP_WORKER_TOKEN; without them the node reads the shared volume), `false` never.
   */
  HYPERSWEEP_CACHE_FETCH: z.enum(["auto", "true", "false"]).default("auto"),
  /** Bytes the fetched cache may hold on this node; least recently used entries no trainer uses are deleted past it. */
  HYPERSWEEP_CACHE_MAX_BYTES: intFrom(20 * 1024 ** 3, 1024 ** 2),
});
export type WorkerConfig = z.output<typeof workerEnv>;
