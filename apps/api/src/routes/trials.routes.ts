import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { getTrial } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { assertId, IdParams } from "./sweeps.routes.ts";

export function trialRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get("/trials/:id", { schema: { params: IdParams, tags: ["trials"], summary: "A trial with every epoch and attempt" } }, async (req) => {
      assertId("trial", req.params.id);
      return getTrial(deps.db, req.team.id, req.params.id);
    });
  };
}
