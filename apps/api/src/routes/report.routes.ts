/**
 * GET /v1/sweeps/:id/report?format=md|html|csv: the sweep's report (@hypersweep/report), built from the same
 * sweep and trials that GET /v1/sweeps/:id and /v1/sweeps/:id/trials serve, so every number in it is the API's.
 * Without ?format, the Accept header chooses (text/html, text/csv, else Markdown).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { getSweep, listEvaluations, listTrials } from "@hypersweep/db";
import { buildReport, renderReport, REPORT_CONTENT_TYPES, REPORT_FORMATS, type ReportEvaluationInput, type ReportFormat } from "@hypersweep/report";
import type { AppDeps } from "../deps.ts";
import { assertId, IdParams } from "./sweeps.routes.ts";

const ReportQuery = z.strictObject({
  format: z.enum(REPORT_FORMATS).optional().describe("md (default), html or csv; or send Accept: text/html / text/csv"),
});

function negotiated(req: FastifyRequest): ReportFormat {
  const accept = req.headers.accept ?? "";
  if (/\btext\/html\b/.test(accept)) return "html";
  if (/\btext\/csv\b/.test(accept)) return "csv";
  return "md";
}

/** The evaluations (binarised, cross-dataset) of the sweep's final models, where they exist. */
async function evaluationsOf(deps: AppDeps, teamId: string, sweepId: string): Promise<ReportEvaluationInput[]> {
  const all = await listEvaluations(deps.db, teamId, { limit: 500 });
  return all.filter((e) => e.sweepId === sweepId).map((e) => ({
    id: e.id, trialId: e.trialId, kind: e.kind, dataset: e.dataset, status: e.status, images: e.images, selection: e.selection, result: e.result, error: e.error,
  }));
}

export function reportRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get("/sweeps/:id/report", {
      schema: { params: IdParams, querystring: ReportQuery, tags: ["sweeps"], summary: "The sweep's report: search grid, final models' test metrics with 95% intervals, confusion matrices, further evaluations (md, html or csv)" },
    }, async (req, reply) => {
      assertId("sweep", req.params.id);
      const [sweep, trials] = await Promise.all([getSweep(deps.db, req.team.id, req.params.id), listTrials(deps.db, req.team.id, req.params.id)]);
      const report = buildReport(sweep, trials, await evaluationsOf(deps, req.team.id, req.params.id));
      const format = req.query.format ?? negotiated(req);
      const name = `report-${sweep.id}.${format}`;
      return reply.header("content-type", REPORT_CONTENT_TYPES[format]).header("content-disposition", `inline; filename="${name}"`).send(renderReport(report, format));
    });
  };
}
