import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { cancelSweep, getSweep, listSweeps, listTrialsJson, NotFoundError, setSweepPriority } from "@hypersweep/db";
import { removeTrialJobs, wakeParkedTokens } from "@hypersweep/queue";
import type { AppDeps } from "../deps.ts";
import { CreateSweepBody, IdempotencyKey, SweepPriority, submitSweep, type SweepLimits } from "../sweep.service.ts";
import { startFinalTraining } from "../final.service.ts";
import { openSse } from "../sse.ts";
import { Architecture, text } from "@hypersweep/core";
import { TrialList } from "./trial-list.schema.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An id in a path: malformed ids answer 404 (assertId), a NUL 400 like any text field. */
export const IdParams = z.object({ id: text() });

/** A malformed id names nothing that exists: answer 404 like for another team's id. */
export function assertId(what: string, id: string): void {
  if (!UUID.test(id)) throw new NotFoundError(what, id);
}

/** The operator's limits on one submission (packages/config: apiLimitsEnv). */
export const sweepLimits = (c: AppDeps["config"]): SweepLimits => ({
  maxQueuedTrials: c.HYPERSWEEP_MAX_QUEUED_TRIALS,
  bounds: { maxLearningRate: c.HYPERSWEEP_MAX_LEARNING_RATE, maxBatchSize: c.HYPERSWEEP_MAX_BATCH_SIZE, maxImageSize: c.HYPERSWEEP_MAX_IMAGE_SIZE, maxEpochs: c.HYPERSWEEP_MAX_EPOCHS },
  defaultTrainer: c.HYPERSWEEP_DEFAULT_TRAINER,
});

export function sweepRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post("/sweeps", {
      schema: {
        body: CreateSweepBody, headers: z.object({ "idempotency-key": IdempotencyKey.optional() }).passthrough(), tags: ["sweeps"],
        summary: "Submit a sweep: stores its full trial plan and enqueues every trial (Idempotency-Key: the same submission sent again creates it once)",
      },
    }, async (req, reply) => {
      const key = req.headers["idempotency-key"] as string | undefined;
      const created = await submitSweep({ db: deps.db, queue: deps.queue, log: (m, err) => req.log.warn({ err }, m), limits: sweepLimits(deps.config) }, req.team.id, req.body, key);
      const sweep = await getSweep(deps.db, req.team.id, created.id);
      // A repeat of a stored submission: the sweep it created, 200 instead of 201.
      if (created.replayed) void reply.header("idempotent-replayed", "true");
      return reply.status(created.replayed ? 200 : 201).send({ ...sweep, enqueued: created.enqueued, trials: created.trials });
    });

    r.get("/sweeps", { schema: { querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50), status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]).optional() }), tags: ["sweeps"] } }, async (req) => {
      return { sweeps: await listSweeps(deps.db, req.team.id, req.query) };
    });

    r.get("/sweeps/:id", { schema: { params: IdParams, tags: ["sweeps"], summary: "Status, counts by trial status, progress and ETA" } }, async (req) => {
      assertId("sweep", req.params.id);
      return getSweep(deps.db, req.team.id, req.params.id);
    });

    r.patch("/sweeps/:id", { schema: { params: IdParams, body: z.strictObject({ priority: SweepPriority }), tags: ["sweeps"], summary: "Change a sweep's priority while it has trials waiting (higher runs first within the team)" } }, async (req) => {
      assertId("sweep", req.params.id);
      await setSweepPriority(deps.db, req.team.id, req.params.id, req.body.priority);
      return getSweep(deps.db, req.team.id, req.params.id);
    });

    // The JSON text comes from Postgres and is sent as it is: the response schema documents it, and is not run.
    r.get("/sweeps/:id/trials", { schema: { params: IdParams, tags: ["sweeps"], summary: "The sweep's trials (search and final), in plan order", response: { 200: TrialList } } }, async (req, reply) => {
      assertId("sweep", req.params.id);
      return reply.type("application/json; charset=utf-8").send(await listTrialsJson(deps.db, req.team.id, req.params.id) as never);
    });

    r.post("/sweeps/:id/cancel", { schema: { params: IdParams, tags: ["sweeps"], summary: "Cancel: queued trials never start, running trainers are stopped" } }, async (req) => {
      assertId("sweep", req.params.id);
      const { status, trialIds } = await cancelSweep(deps.db, req.team.id, req.params.id);
      await removeTrialJobs(deps.queue, trialIds).catch((err) => req.log.warn({ err }, "could not remove queued jobs; workers will skip them"));
      // Its running trials stop: slots of the team's running quota free up for tokens waiting out a back-off.
      await wakeParkedTokens(deps.queue, 8).catch(() => {});
      return getSweep(deps.db, req.team.id, req.params.id).then((s) => ({ ...s, status }));
    });

    r.post("/sweeps/:id/final", {
      schema: {
        params: IdParams,
        body: z.strictObject({ architectures: z.array(Architecture).min(1).optional() }).optional(),
        tags: ["sweeps"],
        summary: "Final training: retrain each architecture's winner to convergence (early stopping) and score it on the test set",
      },
    }, async (req, reply) => {
      assertId("sweep", req.params.id);
      const r = await startFinalTraining({ db: deps.db, queue: deps.queue }, req.team.id, req.params.id, req.body?.architectures);
      return reply.status(r.trials.some((t) => t.created) ? 201 : 200).send(r);
    });

    r.get("/sweeps/:id/events", { schema: { params: IdParams, tags: ["sweeps"], summary: "Server-sent events: trial.started, epoch.done, trial.finished, sweep.finished" } }, async (req, reply) => {
      assertId("sweep", req.params.id);
      const teamId = req.team.id;
      const sweepId = req.params.id;
      const first = await getSweep(deps.db, teamId, sweepId);
      const release = deps.streams.acquire(teamId);
      const sse = openSse(reply);
      sse.onClose(release);
      sse.send("snapshot", first);
      if (["succeeded", "failed", "cancelled"].includes(first.status)) {
        sse.send("sweep.finished", { type: "sweep.finished", sweepId, status: first.status, error: first.error });
        sse.end();
        return;
      }
      const off = deps.events.subscribe(sweepId, (e) => {
        if (e === "reconnected") {
          getSweep(deps.db, teamId, sweepId).then((s) => sse.send("snapshot", s), () => {});
          return;
        }
        if (e.teamId !== teamId) return;
        sse.send(e.type, e);
        if (e.type === "sweep.finished") sse.end();
      });
      sse.onClose(off);
    });
  };
}
