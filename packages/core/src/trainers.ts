/**
 * The trainers a sweep can be trained with. Each speaks the same contract (trainer-contract.ts); a worker runs
 * the ones it has a command for, and a trial goes only to a worker that runs its sweep's trainer.
 * "tfjs" is the trainer every sweep used before the choice existed: a sweep spec names its trainer only when it
 * is another one, so that the spec and plan hash of every earlier sweep stay what they were.
 */
import { z } from "zod";

export const TRAINERS = ["tfjs", "pytorch"] as const;
export const TrainerName = z.enum(TRAINERS);
export type TrainerName = z.infer<typeof TrainerName>;

/** The trainer every sweep without a named one was (and is) trained with. */
export const BASELINE_TRAINER: TrainerName = "tfjs";

/** The trainer of a stored sweep spec. */
export function sweepTrainer(spec: { trainer?: unknown }): TrainerName {
  const r = TrainerName.safeParse(spec.trainer);
  return r.success ? r.data : BASELINE_TRAINER;
}
