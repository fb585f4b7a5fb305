/**
 * Early stopping of hopeless search trials: asynchronous successive halving (ASHA, Li et al. 2020), a sweep
 * option (`overrides.earlyStopping: { rungs: [3, 9, 27], eta: 3 }`), off unless asked for (the data-stock-2020
 * preset trains every trial for all its epochs, as the paper did).
 *
 * The rule, applied when a search trial records a rung epoch (one of `rungs`):
 *  - its standing at the rung is its best epoch so far (epochs 1..rung) by the epoch rule (epochImproves), scored
 *    like a result: the selection metric, then the tie-break metric, then lower validation loss, then the earlier
 *    plan position. This is exactly how the trial would be ranked for the winner if it stopped there.
 *  - it is compared with every trial of the same sweep and architecture (a sweep has one scenario) that reached
 *    this rung before it. With n the number that have reached the rung, itself included, and k its rank among
 *    them (1 = best), it continues when n < eta (fewer than eta trials give no top 1/eta to compare with: the
 *    first eta - 1 trials at a rung always continue) or k <= floor(n / eta); otherwise it stops here.
 *  - a decision is final: it is stored with the epoch, later trials never revisit it, and a replayed rung epoch
 *    (a resumed attempt) gets the stored decision back.
 * A stopped trial ends as a succeeded search trial whose result is its best stored epoch, marked stopped early;
 * it competes for the winner like any other.
 */
import { z } from "zod";
import { bestEpochOf } from "./epoch-selection.ts";
import { selectionScores, type MetricValues } from "./selection.ts";
import type { SelectionMetric, Task } from "./trainer-contract.ts";

export const EarlyStoppingOverride = z.strictObject({
  /** Epochs at which trials are compared: whole numbers, strictly increasing, each below the sweep's searchEpochs. */
  rungs: z
    .array(z.number().int().min(1).max(1000))
    .min(1)
    .max(32)
    .refine((r) => r.every((v, i) => i === 0 || v > r[i - 1]), "rungs must be strictly increasing"),
  /** Keep the top 1/eta at each rung: a whole number, at least 2. */
  eta: z.number().int().min(2).max(100),
});
export type SuccessiveHalving = z.infer<typeof EarlyStoppingOverride>;

/** The problems of an early-stopping option against the sweep's search epochs (path and message, or none). */
export function earlyStoppingIssues(es: SuccessiveHalving, searchEpochs: number): Array<{ path: string; message: string }> {
  return es.rungs.flatMap((r, i) =>
    r >= searchEpochs ? [{ path: `overrides.earlyStopping.rungs.${i}`, message: `rung ${r} is not below searchEpochs (${searchEpochs}): a trial there has nothing left to stop` }] : [],
  );
}

/** How a trial stands at a rung: the scores of its best epoch so far (oriented: higher is better; null if undefined). */
export interface RungStanding {
  trialId: string;
  position: number;
  bestEpoch: number;
  selectionScore: number | null;
  tiebreakScore: number | null;
  valLoss: number | null;
}

const score = (v: number | null) => (v !== null && Number.isFinite(v) ? v : -Infinity);

/** Negative when a ranks before b: the order selectBest uses for the winner, on stored scores. */
export function compareStandings(a: RungStanding, b: RungStanding): number {
  for (const k of ["selectionScore", "tiebreakScore"] as const) {
    const sa = score(a[k]);
    const sb = score(b[k]);
    if (sa !== sb) return sb > sa ? 1 : -1;
  }
  const la = a.valLoss ?? Infinity;
  const lb = b.valLoss ?? Infinity;
  if (la !== lb) return la < lb ? -1 : 1;
  return a.position - b.position;
}

export interface RungDecision {
  continues: boolean;
  /** 1 = best among the trials that had reached the rung, this one included. */
  rank: number;
  /** How many trials had reached the rung, this one included. */
  reached: number;
  /** How many of them may continue: floor(reached / eta), or all while reached < eta. */
  kept: number;
}

/** The decision for `self` reaching a rung that `earlier` (other trials of its sweep and architecture) reached before it. */
export function decideAtRung(self: RungStanding, earlier: readonly RungStanding[], eta: number): RungDecision {
  const reached = earlier.length + 1;
  const rank = 1 + earlier.filter((o) => compareStandings(o, self) < 0).length;
  const kept = reached < eta ? reached : Math.floor(reached / eta);
  return { continues: rank <= kept, rank, reached, kept };
}

/** A stored epoch, as the rule reads it. */
export interface StoredEpoch {
  epoch: number;
  valLoss: number;
  metrics: MetricValues;
}

/**
 * A trial's standing after the epochs it has recorded up to `rung`: its best epoch by the epoch rule, and that
 * epoch's scores (the same numbers a result recorded from that epoch carries).
 */
export function standingAtRung(
  trial: { trialId: string; position: number },
  epochs: readonly StoredEpoch[],
  rung: number,
  opts: { metric: SelectionMetric; task: Task; minDelta?: number },
): RungStanding & { metrics: MetricValues } {
  const upTo = [...epochs].filter((e) => e.epoch <= rung).sort((a, b) => a.epoch - b.epoch);
  const { bestEpoch } = bestEpochOf(upTo, opts.metric, { task: opts.task, minDelta: opts.minDelta ?? 0 });
  const best = upTo.find((e) => e.epoch === bestEpoch);
  const valLoss = best && Number.isFinite(best.valLoss) ? best.valLoss : null;
  const metrics: MetricValues = best ? { ...best.metrics, valLoss } : { valLoss: null };
  return { ...trial, bestEpoch, ...selectionScores(opts.metric, metrics, opts.task), valLoss, metrics };
}

/** The rungs and eta a planned search trial carries (its sweep's option), or null when it has none. */
export function plannedHalving(spec: unknown): SuccessiveHalving | null {
  const h = (spec as { halving?: unknown } | null)?.halving;
  const parsed = EarlyStoppingOverride.safeParse(h);
  return h !== undefined && parsed.success ? parsed.data : null;
}
