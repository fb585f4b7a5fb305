import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { findTeamByApiKey, WORKER_TOKEN_PREFIX, type Db, type KeyScope } from "@hypersweep/db";
import { HttpError, unauthorized } from "../errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The key's team, and the key's scope: a 'read' key may only read. */
    team: { id: string; name: string; scope: KeyScope };
  }
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A read-only key may GET everything of its team (the SSE stream too) and nothing else. */
function checkScope(req: FastifyRequest): void {
  if (req.team.scope === "read" && !READS.has(req.method)) {
    throw new HttpError(403, "FORBIDDEN", `this API key is read-only: ${req.method} ${req.url.split("?")[0]} needs a key with write scope`);
  }
}

/**
 * Bearer API key → team and scope. Lookups are cached briefly (a revoked key stops working within `ttlMs`).
 * Writes with a read-only key answer 403 before any route runs.
 */
export function teamAuth(db: Db, ttlMs = 10_000) {
  const cache = new Map<string, { team: { id: string; name: string; scope: KeyScope }; at: number }>();
  return fp(async (app: FastifyInstance) => {
    app.decorateRequest("team", null as unknown as { id: string; name: string; scope: KeyScope });
    app.addHook("onRequest", async (req: FastifyRequest) => {
      const key = bearer(req);
      if (!key) throw unauthorized("missing API key: send Authorization: Bearer <api key>");
      if (key.startsWith(WORKER_TOKEN_PREFIX)) throw unauthorized("a worker token authenticates a worker node, not a team: this route needs a team API key");
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < ttlMs) {
        req.team = hit.team;
        checkScope(req);
        return;
      }
      const team = await findTeamByApiKey(db, key);
      if (!team) throw unauthorized("invalid API key");
      if (cache.size > 10_000) cache.clear();
      cache.set(key, { team, at: Date.now() });
      req.team = team;
      checkScope(req);
    });
  });
}

export function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : null;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Compares the SHA-256 digests (always 32 bytes) in constant time: neither the content nor the length leaks. */
export function sameToken(given: string, token: string, equal: (a: Buffer, b: Buffer) => boolean = timingSafeEqual): boolean {
  return equal(digest(given), digest(token));
}
