/** What dashboards ask besides the resources themselves: who am I (and may I write), and a sweep's epochs at once. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { sweepEpochsJson, sweepOverview, teamShare } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { assertId, IdParams } from "./sweeps.routes.ts";
import { SweepEpochs } from "./trial-list.schema.ts";

export function dashboardRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get("/me", { schema: { tags: ["session"], summary: "The key's team and scope ('read' keys may only GET)" } }, async (req) => ({
      team: { id: req.team.id, name: req.team.name },
      scope: req.team.scope,
    }));
    r.get("/teams/me", { schema: { tags: ["session"], summary: "The key's team: its fair-share weight, quotas, and trials running and waiting now" } }, async (req) => {
      const t = await teamShare(deps.db, req.team.id);
      const serverWaiting = deps.config.HYPERSWEEP_MAX_QUEUED_TRIALS;
      return {
        team: { id: t.id, name: t.name },
        weight: t.weight,
        quotas: {
          maxRunning: t.maxRunning,
          maxWaiting: t.maxWaiting ?? serverWaiting,
          maxWaitingFrom: t.maxWaiting !== null ? "team" : "HYPERSWEEP_MAX_QUEUED_TRIALS",
        },
        running: t.running,
        waiting: t.waiting,
      };
    });
    r.get("/overview/sweeps", {
      schema: {
        tags: ["sweeps"],
        summary: "Every sweep with progress, ETA and best score so far (one query), filtered by status and dataset",
        querystring: z.strictObject({
          status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]).optional(),
          dataset: z.string().min(1).max(200).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
    }, async (req) => ({ sweeps: await sweepOverview(deps.db, req.team.id, req.query) }));
    r.get("/sweeps/:id/epochs", { schema: { params: IdParams, tags: ["sweeps"], summary: "Every epoch of every trial of a sweep: { trials: [{ id, epoch[], trainLoss[], valLoss[], valAuc[], valF1[] }] } in plan order", response: { 200: SweepEpochs } } }, async (req, reply) => {
      assertId("sweep", req.params.id);
      // Built by Postgres and sent as it is (the response schema documents it, and is not run).
      return reply.type("application/json; charset=utf-8").send(await sweepEpochsJson(deps.db, req.team.id, req.params.id) as never);
    });
  };
}
