/**
 * What GET /v1/sweeps/:id/trials and GET /v1/sweeps/:id/epochs answer, for the OpenAPI document. Both answers are
 * JSON texts built by Postgres and sent as they are (no serialisation in Node); test/trials-json.test.ts checks
 * real answers against these schemas.
 */
import { z } from "zod";

const score = z.number().nullable();
const timestamp = z.string().describe("ISO 8601, UTC (2026-12-01T14:08:07.123Z)");

export const TrialListItem = z.object({
  id: z.string().uuid(),
  sweepId: z.string().uuid(),
  position: z.number().int(),
  key: z.string(),
  architecture: z.string(),
  learningRate: z.number(),
  augmentations: z.array(z.string()),
  stage: z.enum(["search", "final"]),
  status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]),
  attemptCount: z.number().int(),
  backend: z.string().nullable(),
  bestEpoch: z.number().int().nullable(),
  epochsDone: z.number().int(),
  valAuc: score,
  valF1: score,
  valLoss: score,
  selectionScore: score.describe("the sweep's selection metric at the trial's best epoch"),
  metrics: z.record(z.string(), z.unknown()).nullable().describe("the result's validation metrics"),
  error: z.string().nullable(),
  errorReason: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  scenarioKey: z.string(),
  task: z.string(),
  stoppedEarlyAt: z.number().int().nullable().describe("the epoch (rung) at which early stopping ended this search trial"),
});

export const TrialList = z.object({ trials: z.array(TrialListItem).describe("search and final trainings, in plan order") });

const column = z.array(z.number().nullable());
export const SweepEpochs = z.object({
  trials: z.array(z.object({ id: z.string().uuid(), position: z.number().int(), epoch: z.array(z.number().int()), trainLoss: column, valLoss: column, valAuc: column, valF1: column }))
    .describe("trials with at least one epoch, in plan order; index i of every array is one epoch"),
});
