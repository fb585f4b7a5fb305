import type { FastifyInstance } from "fastify";
import { listWorkers } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";

export function workerRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    app.get("/workers", { schema: { tags: ["workers"], summary: "The fleet: every worker node, its GPUs, backend, version, last heartbeat and quarantine" } }, async (req) => ({
      workers: await listWorkers(deps.db, undefined, req.team.id),
    }));
  };
}
