/**
 * The truth, for worker nodes that hold no DATABASE_URL (behind workerAuth): each route runs the packages/db
 * statement a worker would run itself and answers with its return value, so a fleet of nodes costs Postgres
 * only this API's pool. Lease fencing is the statements' own (409 LEASE_LOST when the attempt no longer holds
 * the trial). Requests may arrive twice (a node retries after a timeout whose first copy was committed): epochs,
 * predictions and heartbeats overwrite; a result or failure that this attempt already recorded answers as the
 * first time did (`replayed`), recording nothing.
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  WireClaimNextQuery, WireClaimNextRequest, WireClaimRequest, WireEpochRequest, WireEvaluationResult, WireFailure, WireHeartbeat, WirePredictionsRequest, WireRelease, WireResult, WireResultQuery, WireRungEpochRequest,
  WireStarted, WireWorkerBeat, WireWorkerInfo,
} from "@hypersweep/core";
import {
  attemptOutcome, claimNextTrial, claimTrial, evaluationTarget, failAttempt, heartbeat, LeaseLostError, markAttemptStarted, recordEpoch, recordEvaluationResult,
  recordPredictions, recordResult, recordRungEpoch, registerWorker, releaseAttempt, storedRungDecision, trialPredictions, workerHeartbeat,
  workerQuarantineState,
} from "@hypersweep/db";
import { enqueueTrials } from "@hypersweep/queue";
import { ensureFinalStage } from "@hypersweep/queue/reconcile";
import type { AppDeps } from "../deps.ts";
import { badRequest } from "../errors.ts";

const Trial = z.strictObject({ trialId: z.string().uuid() });
const Attempt = z.strictObject({ trialId: z.string().uuid(), attempt: z.coerce.number().int().min(1) });
const Node = z.strictObject({ workerId: z.string().min(1).max(200) });
const TeamTrial = z.strictObject({ teamId: z.string().uuid(), trialId: z.string().uuid() });
const Sweep = z.strictObject({ sweepId: z.string().uuid() });

/** Predictions and results carry a test set's probabilities: larger than the team routes' JSON limit. */
const RESULT_BODY_LIMIT = 64 * 1024 ** 2;

export function workerStoreRoutes(deps: AppDeps) {
  const db = deps.db;
  /** A write the lease refused: this attempt's own earlier copy when the attempt ended as `ended`. */
  const replayOf = async <T>(err: unknown, trialId: string, attempt: number, ended: string, answer: (trial: string, workerId: string) => T | Promise<T>): Promise<T> => {
    if (!(err instanceof LeaseLostError)) throw err;
    const o = await attemptOutcome(db, trialId, attempt);
    if (o?.attempt !== ended) throw err;
    return answer(o.trial, o.workerId);
  };
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ["worker"];

    r.post("/claim-next", {
      schema: { tags, querystring: WireClaimNextQuery, body: WireClaimNextRequest, summary: "Open a new attempt on the trial fair share says runs next for this worker, or say that none may start now (?key=&repeat=1: a claim sent again)" },
    }, async (req) => {
      const { workerId, ...opts } = req.body;
      return claimNextTrial(db, workerId, { ...opts, claimKey: req.query.key, repeat: req.query.repeat === "1" });
    });
    r.post("/trials/:trialId/claim", { schema: { tags, params: Trial, body: WireClaimRequest, summary: "Open a new attempt on a trial (a lease), or say why not" } }, async (req) => {
      const { workerId, ...opts } = req.body;
      return claimTrial(db, req.params.trialId, workerId, opts);
    });
    r.post("/trials/:trialId/attempts/:attempt/started", { schema: { tags, params: Attempt, body: WireStarted, summary: "The trainer's backend and resumed epoch" } }, async (req) => {
      await markAttemptStarted(db, req.params.trialId, req.params.attempt, req.body);
      return { ok: true as const };
    });
    r.post("/trials/:trialId/attempts/:attempt/heartbeat", { schema: { tags, params: Attempt, body: WireHeartbeat, summary: "Renew the lease; held: false when the attempt lost it" } }, async (req) => ({
      held: await heartbeat(db, req.params.trialId, req.params.attempt, req.body.leaseMs),
    }));
    r.post("/trials/:trialId/attempts/:attempt/epochs", { schema: { tags, params: Attempt, body: WireEpochRequest, summary: "Record one epoch (overwrites the same epoch)" } }, async (req) => {
      await recordEpoch(db, req.params.trialId, req.params.attempt, req.body.record, req.body.leaseMs);
      return { ok: true as const };
    });
    r.post("/trials/:trialId/attempts/:attempt/rung-epochs", { schema: { tags, params: Attempt, body: WireRungEpochRequest, summary: "Record a rung epoch (early stopping) with its decision" } }, async (req) => {
      const { trialId, attempt } = req.params;
      const { record, inHand, leaseMs } = req.body;
      try {
        return { outcome: await recordRungEpoch(db, trialId, attempt, record, inHand, leaseMs) };
      } catch (err) {
        // Told to stop, the trial was finished with that decision: a repeat reads the decision back.
        const decided = err instanceof LeaseLostError ? await storedRungDecision(db, trialId, record.epoch) : null;
        if (!decided || decided.continues) throw err;
        return replayOf(err, trialId, attempt, "succeeded", () => ({ outcome: decided }));
      }
    });
    r.put("/trials/:trialId/attempts/:attempt/predictions", { bodyLimit: RESULT_BODY_LIMIT, schema: { tags, params: Attempt, body: WirePredictionsRequest, summary: "Record the attempt's predictions (overwrites)" } }, async (req) => {
      await recordPredictions(db, req.params.trialId, req.params.attempt, req.body.splits);
      return { ok: true as const };
    });
    r.post("/trials/:trialId/attempts/:attempt/result", {
      bodyLimit: RESULT_BODY_LIMIT,
      schema: { tags, params: Attempt, querystring: WireResultQuery, body: WireResult, summary: "Record the result once (?final=check: and queue the final stage it makes due)" },
    }, async (req) => {
      const { trialId, attempt } = req.params;
      const check = req.query.final === "check";
      let recorded: Awaited<ReturnType<typeof recordResult>>;
      try {
        recorded = await recordResult(db, trialId, attempt, req.body);
      } catch (err) {
        // A repeat: whether the first copy queued the final stage is unknown here, so the node looks itself.
        return replayOf(err, trialId, attempt, "succeeded", () => ({ ok: true as const, replayed: true, ...(check ? { finalStageChecked: false } : {}) }));
      }
      if (!check) return { ok: true as const };
      if (!recorded.finalStageDue) return { ok: true as const, finalStageChecked: true };
      // Queued here, a request sooner than the node could; a failure (Redis away) is left to the node and the reconciler.
      const queued = await ensureFinalStage(db, deps.queue, recorded.sweepId, (m) => req.log.info(m)).then(() => true, (err: Error) => {
        req.log.warn(`final stage of sweep ${recorded.sweepId} not queued: ${err.message}`);
        return false;
      });
      return { ok: true as const, finalStageChecked: queued };
    });
    r.post("/trials/:trialId/attempts/:attempt/failure", { schema: { tags, params: Attempt, body: WireFailure, summary: "End a failed attempt; retry: whether the trial is tried again" } }, async (req) => {
      const { trialId, attempt } = req.params;
      try {
        const { requeued, ...out } = await failAttempt(db, trialId, attempt, req.body);
        // A quarantine gives the trials its excused attempts had failed another run (the reconciler is the safety net).
        if (requeued?.length) await enqueueTrials(deps.queue, requeued).catch(() => {});
        return out;
      } catch (err) {
        return replayOf(err, trialId, attempt, "failed", async (trial, workerId) => {
          // The first answer may have quarantined the node: say so again.
          const q = await workerQuarantineState(db, workerId);
          return { retry: trial !== "failed", ...(q.quarantined && q.until ? { quarantined: { reason: "quarantined (repeated request)", until: q.until } } : {}) };
        });
      }
    });
    r.post("/trials/:trialId/attempts/:attempt/release", { schema: { tags, params: Attempt, body: WireRelease, summary: "Hand the trial back (the node is shutting down)" } }, async (req) => ({
      released: await releaseAttempt(db, req.params.trialId, req.params.attempt, req.body.why),
    }));

    r.get("/evaluations/:trialId", { schema: { tags, params: Trial, summary: "What an evaluation run evaluates" } }, async (req) => ({
      target: await evaluationTarget(db, req.params.trialId),
    }));
    r.post("/evaluations/:trialId/attempts/:attempt/result", { bodyLimit: RESULT_BODY_LIMIT, schema: { tags, params: Attempt, body: WireEvaluationResult, summary: "Record an evaluation's result once" } }, async (req) => {
      const { trialId, attempt } = req.params;
      try {
        await recordEvaluationResult(db, trialId, attempt, req.body);
        return { ok: true as const };
      } catch (err) {
        return replayOf(err, trialId, attempt, "succeeded", () => ({ ok: true as const, replayed: true }));
      }
    });
    r.get("/teams/:teamId/trials/:trialId/predictions", { schema: { tags, params: TeamTrial, summary: "A trial's stored predictions (a binarised evaluation compares with them)" } }, async (req) => ({
      predictions: await trialPredictions(db, req.params.teamId, req.params.trialId),
    }));

    r.put("/nodes/:workerId", { schema: { tags, params: Node, body: WireWorkerInfo, summary: "Register this node in the fleet (GET /v1/workers)" } }, async (req) => {
      if (req.body.id !== req.params.workerId) throw badRequest(`body.id (${req.body.id}) differs from the node in the path (${req.params.workerId})`, [{ path: "id", message: "must equal the node id in the path" }]);
      await registerWorker(db, req.body);
      return { ok: true as const };
    });
    r.post("/nodes/:workerId/heartbeat", { schema: { tags, params: Node, body: WireWorkerBeat, summary: "The node is alive (or stopped)" } }, async (req) => {
      await workerHeartbeat(db, req.params.workerId, req.body.status);
      return { ok: true as const };
    });
    r.get("/nodes/:workerId/quarantine", { schema: { tags, params: Node, summary: "Whether this node is quarantined (ends one whose cool-down has passed)" } }, async (req) =>
      workerQuarantineState(db, req.params.workerId));
    r.post("/sweeps/:sweepId/final", { schema: { tags, params: Sweep, summary: "Queue the final trainings the sweep owes (none when it owes none)" } }, async (req) => ({
      created: await ensureFinalStage(db, deps.queue, req.params.sweepId, (m) => req.log.info(m)),
    }));
  };
}
