import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { Architecture, describeMetric, SelectionMetric, selectionMetricFor, text, TrainerName, type Task } from "@hypersweep/core";
import { bestTrial, datasetExists, leaderboard } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { badRequest } from "../errors.ts";

const unknownDataset = (dataset: string) => badRequest(`unknown dataset '${dataset}'`, [{ path: "dataset", message: `unknown dataset '${dataset}'` }]);

/** What decided, in words a dashboard can show: the metric the trial was ranked by, or the task's default. */
const decidedBy = (row: { task: string; selectionMetric?: string | null }) => {
  const metric = SelectionMetric.safeParse(row.selectionMetric);
  return describeMetric(metric.success ? metric.data : selectionMetricFor(row.task as Task));
};
/** Whether a higher `score` is better: every metric but the validation loss. */
const higherIsBetter = (row: { selectionMetric?: string | null }) => row.selectionMetric !== "valLoss";
const metricParam = SelectionMetric.optional().describe("rank by this selection metric (default: the paper's, AUC for binary and F1 for multiclass); only sweeps that used it compete");

export function bestRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get("/best", {
      schema: {
        tags: ["results"],
        summary: "The winning configuration for dataset × scenario × architecture (by the sweeps' selection metric: AUC for binary, F1 for multiclass unless chosen otherwise)",
        querystring: z.strictObject({ dataset: text(), scenario: z.string().regex(/^(ct|radiograph)\/(binary|multiclass)$/, "a scenario key such as ct/binary"), architecture: Architecture, metric: metricParam, trainer: TrainerName.optional() }),
      },
    }, async (req) => {
      const winner = await bestTrial(deps.db, req.team.id, { dataset: req.query.dataset, scenarioKey: req.query.scenario, architecture: req.query.architecture, metric: req.query.metric, trainer: req.query.trainer });
      if (!winner) {
        if (!(await datasetExists(deps.db, req.team.id, req.query.dataset))) throw unknownDataset(req.query.dataset);
        return { winner: null, reason: "no succeeded trial yet for this dataset, scenario and architecture" };
      }
      return { winner: { ...winner, higherIsBetter: higherIsBetter(winner) }, decidedBy: decidedBy(winner), selectionMetric: winner.selectionMetric };
    });

    r.get("/leaderboard", { schema: { tags: ["results"], summary: "The best trial per scenario and architecture of one dataset", querystring: z.strictObject({ dataset: text(), metric: metricParam, trainer: TrainerName.optional() }) } }, async (req) => {
      const rows = await leaderboard(deps.db, req.team.id, req.query.dataset, req.query.metric, req.query.trainer);
      if (rows.length === 0 && !(await datasetExists(deps.db, req.team.id, req.query.dataset))) throw unknownDataset(req.query.dataset);
      return { dataset: rows[0]?.datasetId ?? req.query.dataset, rows: rows.map((row) => ({ ...row, higherIsBetter: higherIsBetter(row), decidedBy: decidedBy(row) })) };
    });
  };
}
