export { startWorkerNode, WORKER_VERSION, type WorkerNode, type WorkerNodeOptions } from "./worker.ts";
export { startWorker, DEFAULT_TRAINER_CMD, REPO_ROOT } from "./main.ts";
export { ProcessRunner, splitCommand } from "./process-runner.ts";
export { TrainerRunners, trainerRunners, DEFAULT_PYTORCH_CMD } from "./trainer-runners.ts";
export type { TrialRunner, TrialRun, RunOutcome } from "./runner.ts";
export { processTrial, trainerSpecFor, scores, whileDbDown, type ProcessResult, type ProcessorConfig } from "./trial-processor.ts";
export { reconcileOnce, startReconciler } from "@hypersweep/queue/reconcile";
export type { WorkerStore, FailureReport } from "./store.ts";
export { DirectWorkerStore } from "./direct-store.ts";
