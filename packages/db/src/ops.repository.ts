/** Operational reads: readiness and the Prometheus gauges (across every team; never shown to one team). */
import type { Db } from "./client.ts";

/** Resolves when Postgres answers a trivial statement; rejects with the driver's error otherwise. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}

/** Trials by status across every team. */
export async function trialCountsByStatus(db: Db): Promise<Array<{ status: string; count: number }>> {
  const rows = await db.trial.groupBy({ by: ["status"], _count: { _all: true } });
  return rows.map((r) => ({ status: r.status, count: r._count._all }));
}

/** Median and 95th percentile of epoch durations (seconds) over the last `minutes`; null when there is none. */
export async function recentEpochDurations(db: Db, minutes = 15): Promise<{ p50: number | null; p95: number | null }> {
  const rows = await db.$queryRaw<Array<{ p50: number | null; p95: number | null }>>`
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) / 1000.0 AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) / 1000.0 AS p95
    FROM epochs WHERE created_at > now() - make_interval(mins => ${minutes}::int)`;
  return { p50: rows[0]?.p50 ?? null, p95: rows[0]?.p95 ?? null };
}
