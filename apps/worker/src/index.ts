export { startWorkerNode, WORKER_VERSION, type WorkerNode, type WorkerNodeOptions } from "./worker.ts";
export { startWorker, connectStore, DEFAULT_TRAINER_CMD, REPO_ROOT, WORKER_POOL_SIZE, type WorkerConnection } from "./main.ts";
export { ProcessRunner, splitCommand } from "./process-runner.ts";
export type { TrialRunner, TrialRun, RunOutcome } from "./runner.ts";
export { processNextTrial, processTrial, trainerSpecFor, scores, whileDbDown, type NextResult, type ProcessResult, type ProcessorConfig } from "./trial-processor.ts";
export { reconcileOnce, startReconciler } from "@hypersweep/queue/reconcile";
export type { WorkerStore, FailureReport } from "./store.ts";
export { DirectWorkerStore } from "./direct-store.ts";
export { HttpWorkerStore, StoreUnavailableError } from "./http-store.ts";
