import type { FastifyInstance } from "fastify";
import { pingDatabase } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { HttpError, unauthorized } from "../errors.ts";
import { bearer, sameToken } from "../plugins/auth.ts";

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
}

export async function checkPostgres(deps: AppDeps): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(pingDatabase(deps.db), 2000, "postgres");
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
    app.get("/metrics", { schema: { tags: ["health"], summary: "Prometheus metrics (Bearer HYPERSWEEP_METRICS_TOKEN; off unless configured)", hide: false } }, async (req, reply) => {
      const { HYPERSWEEP_METRICS_TOKEN: token, HYPERSWEEP_METRICS_PUBLIC: open } = deps.config;
      if (!token && !open) throw new HttpError(404, "NOT_FOUND", "metrics are off: set HYPERSWEEP_METRICS_TOKEN (then scrape with Authorization: Bearer <token>) or HYPERSWEEP_METRICS_PUBLIC=true");
      if (token) {
        const given = bearer(req);
        if (!given || !sameToken(given, token)) throw unauthorized("missing or invalid metrics token (HYPERSWEEP_METRICS_TOKEN)");
      }
      const body = await deps.metrics.registry.metrics();
      return reply.header("content-type", deps.metrics.registry.contentType).send(body);
    });
  };
}

