/**
 * The final stage (paper, section 3.2): once the search of an architecture is over, its winning configuration
 * (selectBest, by the sweep's selection metric) is trained again for up to `finalEpochs` with early stopping
 * (`patience`, `minDelta`, the epoch rule) and scored on the test set with bootstrap intervals. It runs by
 * itself unless the sweep says `final: false`; then `POST /v1/sweeps/:id/final` asks for it.
 */
import { selectBest, type SelectableTrial } from "./selection.ts";
import type { SweepSpec } from "./spec.ts";
import type { Task } from "./trainer-contract.ts";

/** Whether a sweep trains its winners by itself (every sweep but those created with `final: false`). */
export function finalStageEnabled(spec: { final?: boolean }): boolean {
  return spec.final !== false;
}

/** The trainer spec of a final training: the winner's planned spec, run to convergence and scored on the test set. */
export function finalTrainerSpec(planned: Record<string, unknown>, spec: Pick<SweepSpec, "finalEpochs" | "patience" | "minDelta">): Record<string, unknown> {
  // A final training runs to convergence: the search's early-stopping rungs do not apply to it.
  const { halving: _halving, ...rest } = planned;
  return { ...rest, stage: "final", epochs: spec.finalEpochs, earlyStopping: { patience: spec.patience, minDelta: spec.minDelta }, evaluateTest: true };
}

export interface SearchTrialForFinal extends SelectableTrial {
  architecture: string;
  spec: unknown;
}

export interface FinalPlan {
  /** One final training per architecture whose search is over and has a winner. */
  requests: Array<{ fromTrialId: string; architecture: string; spec: Record<string, unknown> }>;
  /** Architectures whose search is over without a winner (every trial failed, or none has the metric). */
  skipped: Array<{ architecture: string; reason: string }>;
  /** Architectures whose search is still running (their final training waits). */
  searching: string[];
}

/** Decides the final trainings of `architectures` from a sweep's search trials (pure: the caller stores them). */
export function planFinalTrainings(spec: SweepSpec, task: Task, trials: readonly SearchTrialForFinal[], architectures: readonly string[] = spec.architectures): FinalPlan {
  const plan: FinalPlan = { requests: [], skipped: [], searching: [] };
  for (const architecture of architectures) {
    const own = trials.filter((t) => t.architecture === architecture);
    if (own.some((t) => t.status === "queued" || t.status === "running")) {
      plan.searching.push(architecture);
      continue;
    }
    const pick = selectBest(own, task, { metric: spec.selectionMetric });
    if (!pick.winner) plan.skipped.push({ architecture, reason: pick.reason ?? "no winner" });
    else plan.requests.push({ fromTrialId: pick.winner.id, architecture, spec: finalTrainerSpec(pick.winner.spec as Record<string, unknown>, spec) });
  }
  return plan;
}
