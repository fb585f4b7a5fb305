/**
 * Per-team limits held by this API process: open event streams, and the request rate (@fastify/rate-limit,
 * keyed by team). Each answers 429 in the API's error shape with a message naming the limit. The queued-trials
 * limit is kept in Postgres instead (sweep.service.ts), so it holds across API processes.
 */
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import { HttpError, limitExceeded } from "./errors.ts";

export class StreamCounter {
  private readonly open = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Counts one more open stream for the team, or throws 429; the returned function releases it (once). */
  acquire(teamId: string): () => void {
    const n = this.open.get(teamId) ?? 0;
    if (n >= this.max) throw limitExceeded(`this team has ${n} event streams open, the limit per team (HYPERSWEEP_MAX_STREAMS is ${this.max}); close one first`);
    this.open.set(teamId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(teamId) ?? 1) - 1;
      if (left > 0) this.open.set(teamId, left);
      else this.open.delete(teamId);
    };
  }

  count(teamId: string): number {
    return this.open.get(teamId) ?? 0;
  }
}

/** At most `perMinute` requests per minute per team on the routes registered after this in `app` (0: none). */
export async function teamRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  if (perMinute === 0) return;
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    // Runs after the team's key is checked (route hooks follow the scope's own), so every team has its own budget.
    keyGenerator: (req) => (req.team ? `team:${req.team.id}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new HttpError(429, "RATE_LIMITED", `too many requests: this team may send ${ctx.max} per minute (HYPERSWEEP_RATE_LIMIT); retry in ${ctx.after}`),
  });
}
