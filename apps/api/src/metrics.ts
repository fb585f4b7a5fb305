import client from "prom-client";
import { recentEpochDurations, trialCountsByStatus, type Db } from "@hypersweep/db";
import type { TrialQueue } from "@hypersweep/queue";

export interface ApiMetrics {
  registry: client.Registry;
  httpDuration: client.Histogram<"method" | "route" | "status">;
}

/** Metrics gathered at scrape time from the truth (Postgres) and the transport (Redis), plus HTTP latency. */
export function createMetrics(deps: { db: Db; queue: TrialQueue }): ApiMetrics {
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
        const rows = await trialCountsByStatus(deps.db);
        for (const s of ["queued", "running", "succeeded", "failed", "cancelled"]) this.set({ status: s }, 0);
        for (const r of rows) this.set({ status: r.status }, r.count);
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
        const d = await recentEpochDurations(deps.db, 15);
        this.set({ quantile: "0.5" }, d.p50 ?? 0);
        this.set({ quantile: "0.95" }, d.p95 ?? 0);
      } catch {
        // Postgres unreachable.
      }
    },
  });
  return { registry, httpDuration };
}
