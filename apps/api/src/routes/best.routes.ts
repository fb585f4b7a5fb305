import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { Architecture, text } from "@hypersweep/core";
import { bestTrial, datasetExists, leaderboard } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { badRequest } from "../errors.ts";

const unknownDataset = (dataset: string) => badRequest(`unknown dataset '${dataset}'`, [{ path: "dataset", message: `unknown dataset '${dataset}'` }]);

/** What decides, in words a dashboard can show. */
const decidedBy = (task: string) => (task === "binary" ? "validation AUC" : "validation F1");

export function bestRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get("/best", {
      schema: {
        tags: ["results"],
        summary: "The winning configuration for dataset × scenario × architecture (AUC decides for binary, F1 for multiclass)",
        querystring: z.strictObject({ dataset: text(), scenario: z.string().regex(/^(ct|radiograph)\/(binary|multiclass)$/, "a scenario key such as ct/binary"), architecture: Architecture }),
      },
    }, async (req) => {
      const winner = await bestTrial(deps.db, req.team.id, { dataset: req.query.dataset, scenarioKey: req.query.scenario, architecture: req.query.architecture });
      if (!winner) {
        if (!(await datasetExists(deps.db, req.team.id, req.query.dataset))) throw unknownDataset(req.query.dataset);
        return { winner: null, reason: "no succeeded trial yet for this dataset, scenario and architecture" };
      }
      return { winner, decidedBy: decidedBy(winner.task) };
    });

    r.get("/leaderboard", { schema: { tags: ["results"], summary: "The best trial per scenario and architecture of one dataset", querystring: z.strictObject({ dataset: text() }) } }, async (req) => {
      const rows = await leaderboard(deps.db, req.team.id, req.query.dataset);
      if (rows.length === 0 && !(await datasetExists(deps.db, req.team.id, req.query.dataset))) throw unknownDataset(req.query.dataset);
      return { dataset: rows[0]?.datasetId ?? req.query.dataset, rows: rows.map((row) => ({ ...row, decidedBy: decidedBy(row.task) })) };
    });
  };
}
