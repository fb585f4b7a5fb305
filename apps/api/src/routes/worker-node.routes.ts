import type { FastifyInstance } from "fastify";

/** Routes for worker nodes (behind workerAuth): who the token says this node is. */
export function workerNodeRoutes() {
  return async (app: FastifyInstance) => {
    app.get("/me", { schema: { tags: ["worker"], summary: "The worker token this request was made with (its id and name)" } }, async (req) => ({ worker: req.worker }));
  };
}
