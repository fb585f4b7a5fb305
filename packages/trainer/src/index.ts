/**
 * @hypersweep/trainer: the training loop (trainTrial), checkpoints, and the trainer process (main.ts).
 */
export * from "./backend/index.ts";
export { trainTrial, type TrainTrialOptions } from "./train-trial.ts";
export { evaluateModel } from "./evaluate-model.ts";
export { runTrainerProcess, parseSpec, EXIT_CODES, type TrainerProcessIo } from "./process.ts";
export { openTrialDataFor, TRIAL_DATA_MODULE_ENV } from "./data-source.ts";
export {
  TrainerError,
  BadSpecError,
  DivergedError,
  CancelledError,
  TrialDataError,
  CheckpointError,
  PretrainedWeightsError,
  toTrainerError,
  type TrainerErrorReason,
} from "./errors.ts";
export { learningRateAt, recordEpoch, initialProgress, type EpochRecord, type TrialProgress } from "./progress.ts";
export { findLatestCheckpoint, trialFingerprint, CHECKPOINT_FORMAT, type CheckpointState } from "./checkpoint.ts";
export { saveModelFiles, restoreModelWeights, publishModelFiles, loadModelFromDir, MODEL_JSON, WEIGHTS_BIN } from "./weights-io.ts";
export { Mulberry32, deriveSeed } from "./rng.ts";
