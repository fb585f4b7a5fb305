/** The worker's store on its own Postgres connections (DATABASE_URL): the packages/db statements, run here. */
import {
  claimNextTrial, claimTrial, evaluationTarget, failAttempt, heartbeat, isConnectionError, markAttemptStarted, recordEpoch, recordEvaluationResult, recordPredictions,
  recordResult, recordRungEpoch, registerWorker, releaseAttempt, trialPredictions, workerHeartbeat, workerQuarantineState, type Db,
} from "@hypersweep/db";
import { enqueueTrials, type TrialQueue } from "@hypersweep/queue";
import { ensureFinalStage } from "@hypersweep/queue/reconcile";
import type { WorkerStore } from "./store.ts";

export class DirectWorkerStore implements WorkerStore {
  /** `queue` is where final trainings are enqueued; `onClose` runs on close() (e.g. db.$disconnect). */
  constructor(
    readonly db: Db,
    private readonly queue: TrialQueue,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  claimNext: WorkerStore["claimNext"] = (workerId, opts) => claimNextTrial(this.db, workerId, opts);
  claim: WorkerStore["claim"] = (trialId, workerId, opts) => claimTrial(this.db, trialId, workerId, opts);
  markStarted: WorkerStore["markStarted"] = (trialId, attempt, info) => markAttemptStarted(this.db, trialId, attempt, info);
  heartbeat: WorkerStore["heartbeat"] = (trialId, attempt, leaseMs) => heartbeat(this.db, trialId, attempt, leaseMs);
  recordEpoch: WorkerStore["recordEpoch"] = (trialId, attempt, e, leaseMs) => recordEpoch(this.db, trialId, attempt, e, leaseMs);
  recordRungEpoch: WorkerStore["recordRungEpoch"] = (trialId, attempt, e, inHand, leaseMs) => recordRungEpoch(this.db, trialId, attempt, e, inHand, leaseMs);
  recordPredictions: WorkerStore["recordPredictions"] = (trialId, attempt, splits) => recordPredictions(this.db, trialId, attempt, splits);
  recordResult: WorkerStore["recordResult"] = async (trialId, attempt, r) => {
    const { finalStageDue, sweepId } = await recordResult(this.db, trialId, attempt, r);
    if (!finalStageDue) return { finalStageChecked: true };
    // A failure here (Redis away) is the node's to retry and log, the reconciler's to make good.
    return ensureFinalStage(this.db, this.queue, sweepId).then(() => ({ finalStageChecked: true }), () => ({ finalStageChecked: false }));
  };
  failAttempt: WorkerStore["failAttempt"] = async (trialId, attempt, f) => {
    const { requeued, ...out } = await failAttempt(this.db, trialId, attempt, f);
    if (requeued?.length) await enqueueTrials(this.queue, requeued).catch(() => {}); // the reconciler enqueues what is owed
    return out;
  };
  quarantineState: WorkerStore["quarantineState"] = (workerId) => workerQuarantineState(this.db, workerId);
  releaseAttempt: WorkerStore["releaseAttempt"] = (trialId, attempt, why) => releaseAttempt(this.db, trialId, attempt, why);
  evaluationTarget: WorkerStore["evaluationTarget"] = (trialId) => evaluationTarget(this.db, trialId);
  trialPredictions: WorkerStore["trialPredictions"] = (teamId, trialId) => trialPredictions(this.db, teamId, trialId);
  recordEvaluationResult: WorkerStore["recordEvaluationResult"] = (trialId, attempt, r) => recordEvaluationResult(this.db, trialId, attempt, r);
  registerWorker: WorkerStore["registerWorker"] = (info) => registerWorker(this.db, info);
  workerHeartbeat: WorkerStore["workerHeartbeat"] = (workerId, status) => workerHeartbeat(this.db, workerId, status);
  ensureFinalStage: WorkerStore["ensureFinalStage"] = (sweepId, log) => ensureFinalStage(this.db, this.queue, sweepId, log);
  isUnavailable = (err: unknown) => isConnectionError(err);
  close = () => this.onClose();
}
