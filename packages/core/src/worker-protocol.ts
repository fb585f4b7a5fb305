/**
 * The wire format between a worker node and the API's /v1/worker routes (zod, checked on both sides): the node
 * sends what its WorkerStore would have written to Postgres, the API runs the same packages/db statements and
 * answers with what they returned. Every write names its trial and attempt; the lease fences it on the API side.
 */
import { z } from "zod";

const Json = z.record(z.string(), z.unknown());
const num = z.number();
const numOrNull = z.number().nullable();

const TrainerNames = z.array(z.string().regex(/^[a-z0-9_-]+$/).max(50)).max(20);

export const WireLeaseOptions = z.strictObject({
  leaseMs: z.number().int().min(1),
  maxAttempts: z.number().int().min(1),
  /** The trainers the node runs (it claims only trials of these). */
  trainers: TrainerNames.optional(),
});

export const WireClaimRequest = WireLeaseOptions.extend({ workerId: z.string().min(1).max(200) });

export const WireClaimedTrial = z.strictObject({
  trialId: z.string(),
  sweepId: z.string(),
  teamId: z.string(),
  attempt: z.number().int(),
  epochsDone: z.number().int(),
  architecture: z.string(),
  task: z.string(),
  spec: Json,
  sweepSeed: z.number().int(),
  scenario: Json,
  datasetVersionId: z.string(),
  datasetStoragePath: z.string(),
  trainer: z.string().optional(),
});

export const WireClaimOutcome = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("claimed"), trial: WireClaimedTrial }),
  z.strictObject({ kind: z.literal("held"), until: z.coerce.date() }),
  z.strictObject({ kind: z.literal("done"), status: z.string() }),
  z.strictObject({ kind: z.literal("elsewhere"), trainer: z.string() }),
]);

/** A fair claim: the trial fair share says runs next among those of the worker's trainers, or nothing now. */
export const WireClaimNextRequest = WireClaimRequest.extend({ trainers: z.array(z.string().regex(/^[a-z0-9_-]+$/)).min(1).max(20).optional() });
/**
 * The claim's key (`?key=`, fresh per claim) and whether this is a repeat whose first answer was lost
 * (`&repeat=1`): a repeat is answered with the attempt its key opened. In the query, not the body, so that an API
 * that predates them ignores them (and a repeat opens a second attempt, as before).
 */
export const WireClaimNextQuery = z.object({
  key: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, "8 to 100 letters, digits, - or _").optional(),
  repeat: z.enum(["1"]).optional(),
});
export const WireClaimNextOutcome = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("claimed"), trial: WireClaimedTrial }),
  z.strictObject({ kind: z.literal("idle"), owed: z.boolean() }),
]);

export const WireStarted = z.strictObject({ backend: z.string().min(1).max(200), resumedFromEpoch: z.number().int().min(0).optional() });

export const WireHeartbeat = z.strictObject({ leaseMs: z.number().int().min(1) });
export const WireHeld = z.strictObject({ held: z.boolean() });

export const WireEpoch = z.strictObject({
  epoch: z.number().int().min(1),
  trainLoss: num,
  valLoss: num,
  lr: num,
  durationMs: num,
  metrics: z.record(z.string(), numOrNull),
});
export const WireEpochRequest = z.strictObject({ record: WireEpoch, leaseMs: z.number().int().min(1) });

export const WireSplitPredictions = z.strictObject({
  split: z.enum(["val", "test"]),
  images: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  labels: z.array(z.number().int().min(0)),
  probs: z.array(z.array(num)),
});
export const WirePredictionsRequest = z.strictObject({ splits: z.array(WireSplitPredictions).max(2) });

export const WireResult = z.strictObject({
  bestEpoch: z.number().int(),
  metrics: Json,
  valAuc: numOrNull,
  valF1: numOrNull,
  valLoss: numOrNull,
  selectionScore: numOrNull,
  tiebreakScore: numOrNull,
  weightsPath: z.string().optional(),
  epochs: z.array(WireEpoch).optional(),
  backend: z.string().optional(),
});

export const WireRungEpochRequest = z.strictObject({ record: WireEpoch, inHand: z.array(WireEpoch), leaseMs: z.number().int().min(1) });
export const WireRungOutcome = z.strictObject({
  rung: z.number().int(),
  continues: z.boolean(),
  rank: z.number().int(),
  reached: z.number().int(),
  kept: z.number().int(),
  bestEpoch: z.number().int(),
  selectionScore: numOrNull,
  replayed: z.boolean(),
});
export const WireRungAnswer = z.strictObject({ outcome: WireRungOutcome.nullable() });

export const WireFailure = z.strictObject({
  reason: z.string().min(1).max(100),
  message: z.string().max(100_000),
  maxAttempts: z.number().int().min(1),
  retryable: z.boolean().optional(),
  quarantine: z.strictObject({ failures: z.number().int().min(0), cooldownMs: z.number().int().min(0) }).optional(),
});
export const WireFailureOutcome = z.strictObject({
  retry: z.boolean(),
  quarantined: z.strictObject({ reason: z.string(), until: z.coerce.date() }).optional(),
});
export const WireQuarantineState = z.strictObject({ quarantined: z.boolean(), until: z.coerce.date().nullable() });

export const WireRelease = z.strictObject({ why: z.string().max(1000) });
export const WireReleased = z.strictObject({ released: z.boolean() });

export const WireEvaluationTarget = z.strictObject({
  datasetVersionId: z.string(),
  storagePath: z.string(),
  scenario: Json,
  images: z.array(z.string()),
  labels: z.array(z.number().int()),
  compareTrialId: z.string().nullable(),
});
export const WireEvaluationTargetAnswer = z.strictObject({ target: WireEvaluationTarget.nullable() });

export const WireStoredPredictions = z.strictObject({
  split: z.enum(["val", "test"]),
  attempt: z.number().int(),
  images: z.array(z.string()),
  labels: z.array(z.number().int()),
  probs: z.array(z.array(num)),
});
export const WireTrialPredictions = z.strictObject({
  trial: z.strictObject({
    id: z.string(),
    sweepId: z.string(),
    stage: z.string(),
    status: z.string(),
    task: z.enum(["binary", "multiclass"]),
    architecture: z.string(),
    classes: z.array(z.string()),
    positiveClass: z.string(),
    seed: z.number().int(),
  }),
  splits: z.array(WireStoredPredictions),
});
export const WireTrialPredictionsAnswer = z.strictObject({ predictions: WireTrialPredictions.nullable() });

export const WireEvaluationResult = z.strictObject({ result: Json, backend: z.string().optional() });

export const WireWorkerInfo = z.strictObject({
  id: z.string().min(1).max(200),
  host: z.string().max(255),
  pid: z.number().int(),
  gpus: z.array(z.string()),
  backend: z.string().nullable(),
  version: z.string().max(50),
  concurrency: z.number().int().min(1),
  trainers: TrainerNames.optional(),
  backends: z.record(z.string().max(50), z.string().max(200)).optional(),
});
export const WireWorkerBeat = z.strictObject({ status: z.string().min(1).max(50).optional() });

export const WireFinalQueued = z.strictObject({ created: z.array(z.string()) });

/** Any write that succeeded; `replayed` when this attempt had already written it (a retried request). */
export const WireOk = z.strictObject({ ok: z.literal(true), replayed: z.boolean().optional() });

/**
 * A result request may ask the API to queue the final stage the result makes due (`?final=check`), saving the
 * node a request per trial. Only then does the answer carry `finalStageChecked`; an API that predates it ignores
 * the query and answers WireOk, and the node asks for the final stage itself (POST /sweeps/:id/final).
 */
export const WireResultQuery = z.object({ final: z.enum(["check"]).optional() });
export const WireResultAnswer = WireOk.extend({ finalStageChecked: z.boolean().optional() });
