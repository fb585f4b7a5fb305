/**
 * A final model's kept predictions and what they show: per-image probabilities (JSON or CSV), ROC and
 * precision–recall curves (per class one-vs-rest for multiclass) and confusion matrices. Everything is computed
 * from the stored predictions with @hypersweep/metrics, the scorer the worker stored the model's metrics with.
 * Another team's trial answers 404.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { NotFoundError, trialPredictions, type StoredPredictions, type TrialPredictions } from "@hypersweep/db";
import { scoreSplit, splitCurves, toSplitScores } from "@hypersweep/metrics";
import type { AppDeps } from "../deps.ts";
import { csvLine } from "@hypersweep/report";
import { assertId, IdParams } from "./sweeps.routes.ts";

const SplitQuery = z.strictObject({
  split: z.enum(["val", "test"]).optional().describe("One split only (default: every kept split)"),
  format: z.enum(["json", "csv"]).optional().describe("csv, or send Accept: text/csv (default json)"),
});

async function load(deps: AppDeps, teamId: string, id: string, split?: "val" | "test"): Promise<TrialPredictions> {
  assertId("trial", id);
  const found = await trialPredictions(deps.db, teamId, id);
  if (!found) throw new NotFoundError("trial", id);
  return split ? { ...found, splits: found.splits.filter((s) => s.split === split) } : found;
}

function wantsCsv(req: FastifyRequest, format?: string): boolean {
  if (format) return format === "csv";
  const accept = req.headers.accept ?? "";
  return /\btext\/csv\b/.test(accept) && !/\bapplication\/json\b/.test(accept);
}

const header = (t: TrialPredictions["trial"]) => ({
  trialId: t.id, sweepId: t.sweepId, stage: t.stage, status: t.status, task: t.task, architecture: t.architecture,
  classes: t.classes, positiveClass: t.positiveClass,
});

/** One row per image: split, hash, true class (index and name), predicted class, one probability per class. */
export function predictionsCsv(p: TrialPredictions): string {
  const { classes } = p.trial;
  const lines = [csvLine(["split", "image_sha256", "label", "class", "predicted", "predicted_class", ...classes.map((c) => `p_${c}`)])];
  for (const s of p.splits) {
    const predicted = argmax(s);
    s.images.forEach((img, i) => {
      const y = s.labels[i]!;
      lines.push(csvLine([s.split, img, y, classes[y] ?? "", predicted[i]!, classes[predicted[i]!] ?? "", ...s.probs[i]!]));
    });
  }
  return `${lines.join("\n")}\n`;
}

/** The predicted class per image, as the scorer counts it (confusion matrix order). */
function argmax(s: StoredPredictions): number[] {
  return s.probs.map((row) => row.reduce((best, v, c) => (v > row[best]! ? c : best), 0));
}

const ctxOf = (t: TrialPredictions["trial"]) => ({ task: t.task, classes: t.classes, positiveClass: t.positiveClass });

export function predictionRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get("/trials/:id/predictions", {
      schema: { params: IdParams, querystring: SplitQuery, tags: ["trials"], summary: "A final model's per-image probabilities on its validation and test splits (JSON or CSV)" },
    }, async (req, reply) => {
      const p = await load(deps, req.team.id, req.params.id, req.query.split);
      if (wantsCsv(req, req.query.format)) {
        return reply.header("content-type", "text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="predictions-${p.trial.id}.csv"`).send(predictionsCsv(p));
      }
      return { ...header(p.trial), splits: p.splits.map((s) => ({ split: s.split, n: s.labels.length, images: s.images, labels: s.labels, probs: s.probs })) };
    });

    r.get("/trials/:id/curves", {
      schema: { params: IdParams, querystring: SplitQuery.pick({ split: true }), tags: ["trials"], summary: "ROC and precision-recall curves (one-vs-rest per class for multiclass), metrics and confusion matrix, from the kept predictions" },
    }, async (req) => {
      const p = await load(deps, req.team.id, req.params.id, req.query.split);
      const ctx = ctxOf(p.trial);
      return {
        ...header(p.trial),
        splits: p.splits.map((s) => {
          const scores = toSplitScores(s);
          const curves = splitCurves(scores, ctx);
          return { split: s.split, n: s.labels.length, metrics: scoreSplit(scores, ctx).metrics, confusionMatrix: curves.confusionMatrix, curves: curves.classes };
        }),
      };
    });

    r.get("/trials/:id/confusion", {
      schema: { params: IdParams, querystring: SplitQuery.pick({ split: true }), tags: ["trials"], summary: "Confusion matrices (rows: true class, columns: predicted) from the kept predictions" },
    }, async (req) => {
      const p = await load(deps, req.team.id, req.params.id, req.query.split);
      return { ...header(p.trial), splits: p.splits.map((s) => ({ split: s.split, n: s.labels.length, matrix: scoreSplit(toSplitScores(s), ctxOf(p.trial)).confusion })) };
    });
  };
}
