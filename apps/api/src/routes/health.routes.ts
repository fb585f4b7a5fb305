import type { FastifyInstance } from "fastify";
import client from "prom-client";
import type { AppDeps } from "../app.ts";

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
}

export async function checkPostgres(deps: AppDeps): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(deps.db.$queryRaw`SELECT 1`, 2000, "postgres");
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message.split("\n")[0] };
  }
}

export async function checkRedis(deps: AppDeps): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(deps.queue.getJobCounts("waiting"), 2000, "redis");
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message.split("\n")[0] };
  }
}

export function healthRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    app.get("/healthz", { schema: { tags: ["health"], summary: "The process is up" } }, async () => ({ ok: true }));
    app.get("/readyz", { schema: { tags: ["health"], summary: "Postgres and Redis are reachable (503 says which is not)" } }, async (_req, reply) => {
      const [postgres, redis] = await Promise.all([checkPostgres(deps), checkRedis(deps)]);
      const ok = postgres.ok && redis.ok;
      return reply.status(ok ? 200 : 503).send({ ok, postgres, redis });
    });
    app.get("/metrics", { schema: { tags: ["health"], summary: "Prometheus metrics", hide: false } }, async (_req, reply) => {
      const body = await deps.metrics.registry.metrics();
      return reply.header("content-type", deps.metrics.registry.contentType).send(body);
    });
  };
}

export interface ApiMetrics {
  registry: client.Registry;
  httpDuration: client.Histogram<"method" | "route" | "status">;
}

/** Metrics gathered at scrape time from the truth (Postgres) and the transport (Redis), plus HTTP latency. */
export function createMetrics(deps: Pick<AppDeps, "db" | "queue">): ApiMetrics {
  const registry = new client.Registry();
  const httpDuration = new client.Histogram({
    name: "hypersweep_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new client.Gauge({
    name: "hypersweep_queue_jobs",
    help: "Trial jobs in the queue by state",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await Promise.race([deps.queue.getJobCounts("waiting", "active", "delayed", "prioritized"), new Promise<never>((_, r) => setTimeout(() => r(new Error("timeout")), 1500).unref())]);
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      } catch {
        // Redis unreachable: leave the last values; /readyz says why.
      }
    },
  });
  new client.Gauge({
    name: "hypersweep_trials",
    help: "Trials by status (all teams)",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      try {
        const rows = await deps.db.trial.groupBy({ by: ["status"], _count: { _all: true } });
        for (const s of ["queued", "running", "succeeded", "failed", "cancelled"]) this.set({ status: s }, 0);
        for (const r of rows) this.set({ status: r.status }, r._count._all);
      } catch {
        // Postgres unreachable.
      }
    },
  });
  new client.Gauge({
    name: "hypersweep_epoch_duration_seconds",
    help: "Epoch durations over the last 15 minutes (quantile label: 0.5, 0.95)",
    labelNames: ["quantile"] as const,
    registers: [registry],
    async collect() {
      try {
        const rows = await deps.db.$queryRaw<Array<{ p50: number | null; p95: number | null }>>`
          SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) / 1000.0 AS p50,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) / 1000.0 AS p95
          FROM epochs WHERE created_at > now() - interval '15 minutes'`;
        this.set({ quantile: "0.5" }, rows[0]?.p50 ?? 0);
        this.set({ quantile: "0.95" }, rows[0]?.p95 ?? 0);
      } catch {
        // Postgres unreachable.
      }
    },
  });
  return { registry, httpDuration };
}
