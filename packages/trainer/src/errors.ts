/**
 * Every way a trial can stop early, as a named error whose `reason` is the trainer contract's `error.reason`
 * (packages/core/src/trainer-contract.ts) and whose `code` is stable (safe to switch on, shown to users).
 */
export type TrainerErrorReason = "diverged" | "bad_spec" | "data" | "cancelled" | "internal";

export class TrainerError extends Error {
  constructor(
    readonly reason: TrainerErrorReason,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TrainerError";
  }
}

/** The spec on stdin is not JSON, or does not match TrainerSpec; `issues` name each failing field. */
export class BadSpecError extends TrainerError {
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super("bad_spec", "TRAINER_BAD_SPEC", message);
    this.name = "BadSpecError";
  }
}

/** The training loss (or the validation loss) became NaN or infinite. */
export class DivergedError extends TrainerError {
  constructor(
    readonly epoch: number,
    readonly where: string,
    readonly value: number,
  ) {
    super("diverged", "TRAINER_DIVERGED", `loss diverged at epoch ${epoch} (${where}): ${value}`);
    this.name = "DivergedError";
  }
}

/** Stopped on request (SIGTERM / an aborted signal). The last completed epoch's checkpoint is on disk. */
export class CancelledError extends TrainerError {
  constructor(readonly lastCheckpointEpoch: number) {
    super("cancelled", "TRAINER_CANCELLED", `cancelled; last checkpoint is after epoch ${lastCheckpointEpoch}`);
    this.name = "CancelledError";
  }
}

/** The trial's data could not be opened or read. */
export class TrialDataError extends TrainerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("data", "TRAINER_DATA", message, options);
    this.name = "TrialDataError";
  }
}

/** A checkpoint directory that cannot be resumed from (another trial configuration, or unreadable files). */
export class CheckpointError extends TrainerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("internal", "TRAINER_CHECKPOINT", message, options);
    this.name = "CheckpointError";
  }
}

/** spec.pretrained cannot be read or does not fit the model (the message names the tensor). */
export class PretrainedWeightsError extends TrainerError {
  constructor(readonly file: string, cause: unknown) {
    super("data", "TRAINER_PRETRAINED", `pretrained weights ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "PretrainedWeightsError";
  }
}

/** Anything thrown that is not a TrainerError becomes one, keeping the original as `cause`. */
export function toTrainerError(e: unknown): TrainerError {
  if (e instanceof TrainerError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new TrainerError("internal", "TRAINER_INTERNAL", message, { cause: e });
}
