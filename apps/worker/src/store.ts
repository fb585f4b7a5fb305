/**
 * Everything a worker node reads from and writes to the truth, named operation by operation. Two
 * implementations: DirectWorkerStore (this node holds DATABASE_URL and runs the packages/db statements itself:
 * single-machine installs, tests) and HttpWorkerStore (the node holds only the API's address and a worker token;
 * the API runs the same statements behind /v1/worker/*, so a fleet of nodes costs Postgres no connections).
 * Every write names its attempt and is fenced by the lease, whichever side runs it.
 */
import type {
  ClaimNextOptions, ClaimNextOutcome, ClaimOutcome, EpochRecord, EvaluationOutcome, EvaluationTarget, LeaseOptions, QuarantinePolicy, RungOutcome, SplitPredictionRows, TrialPredictions, TrialResult,
  WorkerInfo, WorkerQuarantineState,
} from "@hypersweep/db";

export interface FailureReport {
  reason: string;
  message: string;
  maxAttempts: number;
  retryable?: boolean;
  /** The node's quarantine policy: a failure for reasons of the node also judges the worker (see judgeNode). */
  quarantine?: QuarantinePolicy;
}

export interface FailureOutcome {
  retry: boolean;
  /** Set when this failure quarantined the worker: stop taking trials. */
  quarantined?: { reason: string; until: Date };
}

export interface WorkerStore {
  /**
   * Opens a new attempt on the trial fair share says runs next among those this worker may run (a lease for
   * `workerId`), or says that nothing may start now.
   */
  claimNext(workerId: string, opts: ClaimNextOptions): Promise<ClaimNextOutcome>;
  /** Opens a new attempt on the trial (a lease for `workerId`), or says why not. */
  claim(trialId: string, workerId: string, opts: LeaseOptions): Promise<ClaimOutcome>;
  /** The trainer's backend and the epoch it resumed from. */
  markStarted(trialId: string, attempt: number, info: { backend: string; resumedFromEpoch?: number }): Promise<void>;
  /** Renews the lease; false when this attempt no longer holds it. */
  heartbeat(trialId: string, attempt: number, leaseMs: number): Promise<boolean>;
  /** Throws LeaseLostError when the attempt no longer holds the lease (for all writes below). */
  recordEpoch(trialId: string, attempt: number, e: EpochRecord, leaseMs: number): Promise<void>;
  /**
   * A rung epoch of a search trial with early stopping, recorded with its decision (packages/db recordRungEpoch):
   * null when the epoch is no rung; when the decision is to stop, the trial is finished (its best stored epoch).
   * `inHand`: the epochs this attempt has reported so far.
   */
  recordRungEpoch(trialId: string, attempt: number, e: EpochRecord, inHand: readonly EpochRecord[], leaseMs: number): Promise<RungOutcome | null>;
  recordPredictions(trialId: string, attempt: number, splits: readonly SplitPredictionRows[]): Promise<void>;
  /**
   * Records the result once. `finalStageChecked`: the store has also queued the final stage this result made due
   * (or none was), so the node need not ask (ensureFinalStage); false when the node should look itself.
   */
  recordResult(trialId: string, attempt: number, r: TrialResult): Promise<{ finalStageChecked: boolean }>;
  /**
   * Ends a failed attempt. When it quarantines the worker, the trials its excused attempts had failed for good are
   * owed a run again: the store enqueues them (the reconciler is the safety net).
   */
  failAttempt(trialId: string, attempt: number, f: FailureReport): Promise<FailureOutcome>;
  /** The worker's quarantine (polled while it waits; ends one whose cool-down has passed). */
  quarantineState(workerId: string): Promise<WorkerQuarantineState>;
  /** Hands the trial back (shutdown); false when the attempt no longer held it. */
  releaseAttempt(trialId: string, attempt: number, why: string): Promise<boolean>;
  /** What an evaluation run evaluates (null: no stored definition). */
  evaluationTarget(trialId: string): Promise<EvaluationTarget | null>;
  /** Stored predictions of a trial of the team (a binarised evaluation compares with them). */
  trialPredictions(teamId: string, trialId: string): Promise<TrialPredictions | null>;
  recordEvaluationResult(trialId: string, attempt: number, r: EvaluationOutcome): Promise<void>;
  registerWorker(info: WorkerInfo): Promise<void>;
  workerHeartbeat(workerId: string, status?: string): Promise<void>;
  /** Queues the final trainings the sweep owes; returns the ids of those created. */
  ensureFinalStage(sweepId: string, log?: (msg: string) => void): Promise<string[]>;
  /** True when `err` means the truth is unreachable for now (wait and retry), not that the request was wrong. */
  isUnavailable(err: unknown): boolean;
  close(): Promise<void>;
}
