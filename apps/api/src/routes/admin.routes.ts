import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { text } from "@hypersweep/core";
import { createApiKey, createTeam, createWorkerToken, listTeams, listWorkers, listWorkerTokens, NotFoundError, releaseWorker, revokeWorkerToken, updateTeamShare } from "@hypersweep/db";
import { wakeParkedTokens } from "@hypersweep/queue";
import type { AppDeps } from "../deps.ts";
import { unauthorized } from "../errors.ts";
import { pruneModels } from "../model-prune.ts";
import { bearer, sameToken } from "../plugins/auth.ts";

const NAME = z.string().min(1).max(100).regex(/^[\w .-]+$/, "letters, digits, space, _ . - only");

/**
 * Teams and keys, worker tokens, the fleet's quarantines, and the stored final models' clean-up, behind the admin
 * token from HYPERSWEEP_ADMIN_TOKEN. Keys are returned once, stored hashed.
 */
export function adminRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    app.addHook("onRequest", async (req) => {
      const token = deps.config.HYPERSWEEP_ADMIN_TOKEN;
      const given = bearer(req);
      if (!token) throw unauthorized("admin routes are disabled: HYPERSWEEP_ADMIN_TOKEN is not set");
      if (!given || !sameToken(given, token)) throw unauthorized("invalid admin token");
    });
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post("/teams", { schema: { tags: ["admin"], body: z.strictObject({ name: NAME }) } }, async (req, reply) => {
      const { team, apiKey } = await createTeam(deps.db, req.body.name);
      return reply.status(201).send({ team, apiKey, note: "the API key is shown once; store it now" });
    });
    r.get("/teams", { schema: { tags: ["admin"] } }, async () => ({ teams: await listTeams(deps.db) }));
    r.patch("/teams/:id", {
      schema: {
        tags: ["admin"],
        summary: "A team's fair-share weight and quotas (null removes a quota)",
        params: z.object({ id: z.string().uuid() }),
        body: z
          .strictObject({
            /** Relative share of the fleet while several teams wait (default 1). */
            weight: z.number().positive().max(1000).optional(),
            /** Trials of the team running at once; more wait without blocking other teams. */
            maxRunning: z.number().int().min(0).max(1_000_000).nullable().optional(),
            /** Trials of the team waiting at once; a submit past it is 429. Overrides HYPERSWEEP_MAX_QUEUED_TRIALS. */
            maxWaiting: z.number().int().min(0).max(10_000_000).nullable().optional(),
          })
          .refine((b) => Object.keys(b).length > 0, { message: "give at least one of weight, maxRunning, maxWaiting" }),
      },
    }, async (req) => {
      const share = await updateTeamShare(deps.db, req.params.id, req.body);
      // A larger running quota lets waiting trials start now: wake tokens that are waiting out a back-off.
      if (req.body.maxRunning !== undefined) await wakeParkedTokens(deps.queue, 100).catch(() => {});
      return { team: share };
    });
    r.post("/teams/:id/keys", { schema: { tags: ["admin"], params: z.object({ id: z.string().uuid() }), body: z.strictObject({ name: text({ max: 100 }).default("default"), scope: z.enum(["read", "write"]).default("write") }).default({ name: "default", scope: "write" }) } }, async (req, reply) => {
      const key = await createApiKey(deps.db, req.params.id, req.body.name, req.body.scope);
      return reply.status(201).send({ ...key, note: "the API key is shown once; store it now" });
    });
    r.get("/workers", { schema: { tags: ["admin"], summary: "The fleet, with every team's attempts behind each quarantine" } }, async () => ({ workers: await listWorkers(deps.db) }));
    r.post("/workers/:id/release", { schema: { tags: ["admin"], summary: "Release a worker from quarantine: it takes trials again within a second or two", params: z.object({ id: text({ max: 200 }) }) } }, async (req) => {
      const released = await releaseWorker(deps.db, req.params.id, "admin");
      if (!released) throw new NotFoundError("worker", req.params.id);
      const worker = (await listWorkers(deps.db)).find((w) => w.id === req.params.id);
      return { released: released.wasQuarantined, worker };
    });

    // Worker tokens authenticate worker nodes to /v1/worker/* (see plugins/worker-auth.ts); not a team's key.
    r.post("/worker-tokens", { schema: { tags: ["admin"], body: z.strictObject({ name: NAME }) } }, async (req, reply) => {
      const { id, name, createdAt, token } = await createWorkerToken(deps.db, req.body.name);
      return reply.status(201).send({ id, name, createdAt, token, note: "the worker token is shown once; store it now" });
    });
    r.get("/worker-tokens", { schema: { tags: ["admin"] } }, async () => ({ workerTokens: await listWorkerTokens(deps.db) }));
    r.delete("/worker-tokens/:id", { schema: { tags: ["admin"], params: z.object({ id: z.string().uuid() }) } }, async (req) => {
      const revoked = await revokeWorkerToken(deps.db, req.params.id);
      deps.workerTokens.forget(revoked.id);
      return { workerToken: revoked };
    });

    // The pass the API also runs every HYPERSWEEP_MODEL_PRUNE_MS, now: what it removed and what it kept.
    r.post("/models/prune", { schema: { tags: ["admin"], summary: "Delete stored final models no trial references, and unfinished uploads, older than HYPERSWEEP_MODEL_GRACE_MS" } }, async (req) =>
      pruneModels({ db: deps.db, dataDir: deps.config.HYPERSWEEP_DATA_DIR, graceMs: deps.config.HYPERSWEEP_MODEL_GRACE_MS, log: (msg, extra) => req.log.info(extra, msg) }));
  };
}
