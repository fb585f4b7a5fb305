import type { FastifyInstance } from "fastify";
import { listWorkers } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";

export function workerRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    app.get("/workers", { schema: { tags: ["workers"], summary: "The fleet: every worker node, its GPUs, backend, version and last heartbeat" } }, async () => ({
      workers: await listWorkers(deps.db),
    }));
  };
}
