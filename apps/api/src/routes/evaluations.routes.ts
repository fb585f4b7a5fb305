import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { getEvaluation, listEvaluations, NotFoundError, trialPredictions } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { CreateEvaluationBody, createEvaluationFor } from "../evaluation.service.ts";
import { assertId, IdParams } from "./sweeps.routes.ts";

export function evaluationRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post("/evaluations", {
      schema: {
        body: CreateEvaluationBody,
        tags: ["evaluations"],
        summary: "Score a final model on another dataset version's test set (cross-dataset) or on the multiclass test set (binarise)",
      },
    }, async (req, reply) => {
      const created = await createEvaluationFor({ db: deps.db, queue: deps.queue, maxQueuedTrials: deps.config.HYPERSWEEP_MAX_QUEUED_TRIALS }, req.team.id, req.body);
      const view = await getEvaluation(deps.db, req.team.id, created.id);
      return reply.status(created.created ? 201 : 200).send({ ...view, enqueued: created.enqueued });
    });

    r.get("/evaluations", {
      schema: { querystring: z.strictObject({ trial: z.string().uuid().optional(), limit: z.coerce.number().int().min(1).max(500).default(200) }), tags: ["evaluations"] },
    }, async (req) => {
      return { evaluations: await listEvaluations(deps.db, req.team.id, { trialId: req.query.trial, limit: req.query.limit }) };
    });

    r.get("/evaluations/:id", { schema: { params: IdParams, tags: ["evaluations"], summary: "Status, row selection (removed, sampled) and scores with intervals" } }, async (req) => {
      assertId("evaluation", req.params.id);
      return getEvaluation(deps.db, req.team.id, req.params.id);
    });

    r.get("/evaluations/:id/predictions", {
      schema: { params: IdParams, tags: ["evaluations"], summary: "The scored images' probabilities: { classes, images, labels, probs }" },
    }, async (req) => {
      assertId("evaluation", req.params.id);
      const ev = await getEvaluation(deps.db, req.team.id, req.params.id);
      const test = (await trialPredictions(deps.db, req.team.id, req.params.id))?.splits.find((p) => p.split === "test");
      if (!test) throw new NotFoundError("predictions of evaluation", req.params.id);
      return { classes: (ev.scenario as { classes: string[] }).classes, images: test.images, labels: test.labels, probs: test.probs };
    });
  };
}
