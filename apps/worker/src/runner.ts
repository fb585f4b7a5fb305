/**
 * How a trial is run, behind one small interface: the worker's production runner spawns a trainer process
 * (ProcessRunner, the JSON-lines contract of packages/core/src/trainer-contract.ts); benchmarks may run a
 * no-op in process to measure the orchestrator alone.
 */
import type { TrainerMessage, TrainerSpec } from "@hypersweep/core";

export type RunOutcome =
  | { kind: "result"; result: Extract<TrainerMessage, { type: "result" }> }
  | { kind: "error"; reason: string; message: string; retryable: boolean };

export interface TrialRun {
  spec: TrainerSpec;
  /** Called for every message in order; the runner waits for it before reading the next. */
  onMessage(m: TrainerMessage): Promise<void>;
  /** Aborting stops the trainer (SIGTERM, then SIGKILL after the grace period). */
  signal: AbortSignal;
  /** Extra environment for the trainer (e.g. CUDA_VISIBLE_DEVICES). */
  env?: Record<string, string>;
  /** The trainer the trial's sweep names (tfjs when absent). */
  trainer?: string;
}

export interface TrialRunner {
  run(run: TrialRun): Promise<RunOutcome>;
}
