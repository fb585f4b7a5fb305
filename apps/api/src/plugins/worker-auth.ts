/**
 * workerAuth: the authentication of every route under /v1/worker/*. A worker node sends
 * `Authorization: Bearer hsw_...` (a worker token, created by an admin with POST /v1/admin/worker-tokens); the
 * hook puts the token's id and name on `req.worker` before any route runs. A worker token is not a team: routes in
 * this scope see no `req.team`, and a worker token on a team route is refused by teamAuth.
 *
 * To add worker routes, register them in the scope that app.ts builds for /v1/worker (next to the cache routes):
 *   await worker.register(workerAuth(deps.db, workerTokens)); await worker.register(myWorkerRoutes(deps));
 * and read `req.worker.id` / `req.worker.name` in them.
 *
 * Lookups are cached for `ttlMs` per API process (a node calling many times a second costs one UPDATE of
 * last_used_at per period); revoking through this process's admin route takes effect at once (`forget`), through
 * another API process within `ttlMs`.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { findTeamByApiKey, useWorkerToken, WORKER_TOKEN_PREFIX, type Db } from "@hypersweep/db";
import { HttpError, unauthorized } from "../errors.ts";
import { bearer } from "./auth.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The worker token this request was authenticated with (routes under /v1/worker only). */
    worker: { id: string; name: string };
  }
}

/** The process-wide cache of worker token lookups, shared by the auth hook and the admin route that revokes. */
export class WorkerTokenCache {
  private readonly hits = new Map<string, { worker: { id: string; name: string }; at: number }>();
  constructor(readonly ttlMs = 10_000) {}
  get(token: string) {
    const hit = this.hits.get(token);
    return hit && Date.now() - hit.at < this.ttlMs ? hit.worker : undefined;
  }
  set(token: string, worker: { id: string; name: string }) {
    if (this.hits.size > 10_000) this.hits.clear();
    this.hits.set(token, { worker, at: Date.now() });
  }
  /** Drops every cached lookup of this token id (after a revocation). */
  forget(id: string) {
    for (const [k, v] of this.hits) if (v.worker.id === id) this.hits.delete(k);
  }
}

const HOW = "send Authorization: Bearer <worker token> (hsw_..., created with POST /v1/admin/worker-tokens)";

export function workerAuth(db: Db, cache = new WorkerTokenCache()) {
  return fp(async (app: FastifyInstance) => {
    app.decorateRequest("worker", null as unknown as { id: string; name: string });
    app.addHook("onRequest", async (req: FastifyRequest) => {
      const token = bearer(req);
      if (!token) throw unauthorized(`missing worker token: ${HOW}`);
      if (!token.startsWith(WORKER_TOKEN_PREFIX)) {
        if (await findTeamByApiKey(db, token)) {
          throw new HttpError(403, "FORBIDDEN", `a team API key cannot call worker routes: ${HOW}`);
        }
        throw unauthorized(`not a worker token: ${HOW}`);
      }
      const hit = cache.get(token);
      if (hit) {
        req.worker = hit;
        return;
      }
      const worker = await useWorkerToken(db, token);
      if (!worker) throw unauthorized("invalid or revoked worker token");
      cache.set(token, worker);
      req.worker = worker;
    });
  });
}
