/**
 * Choosing the best trial. Binary tasks: highest validation AUC; multiclass: highest validation F1 (either can
 * be overridden). Ties break deterministically: the other metric, then lower validation loss, then the earlier
 * plan position. Failed, cancelled, unfinished and NaN trials never win; an empty or all-failed set yields
 * `{ winner: null, reason }`, not an exception. The database's best-config query orders the same way.
 */
import type { Task } from "./trainer-contract.ts";

export interface SelectableTrial {
  id: string;
  position: number;
  status: string;
  valAuc: number | null | undefined;
  valF1: number | null | undefined;
  valLoss: number | null | undefined;
}

export interface Selection<T extends SelectableTrial> {
  winner: T | null;
  metric: "auc" | "f1";
  reason?: string;
  /** Trials that could compete. */
  candidates: number;
}

const finite = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

export function selectionMetricFor(task: Task): "auc" | "f1" {
  return task === "binary" ? "auc" : "f1";
}

/** Negative when a ranks before b. */
export function compareTrials(a: SelectableTrial, b: SelectableTrial, metric: "auc" | "f1"): number {
  const [m, o] = metric === "auc" ? (["valAuc", "valF1"] as const) : (["valF1", "valAuc"] as const);
  const am = a[m] as number;
  const bm = b[m] as number;
  if (am !== bm) return bm - am;
  const ao = finite(a[o]) ? a[o] : -Infinity;
  const bo = finite(b[o]) ? b[o] : -Infinity;
  if (ao !== bo) return bo > ao ? 1 : -1;
  const al = finite(a.valLoss) ? a.valLoss : Infinity;
  const bl = finite(b.valLoss) ? b.valLoss : Infinity;
  if (al !== bl) return al < bl ? -1 : 1;
  return a.position - b.position;
}

export function selectBest<T extends SelectableTrial>(trials: readonly T[], task: Task, opts: { metric?: "auc" | "f1" } = {}): Selection<T> {
  const metric = opts.metric ?? selectionMetricFor(task);
  const key = metric === "auc" ? "valAuc" : "valF1";
  const candidates = trials.filter((t) => t.status === "succeeded" && finite(t[key]));
  if (candidates.length === 0) {
    const reason = trials.length === 0 ? "no trials" : `no succeeded trial has a finite validation ${metric.toUpperCase()}`;
    return { winner: null, metric, reason, candidates: 0 };
  }
  const winner = candidates.reduce((best, t) => (compareTrials(t, best, metric) < 0 ? t : best));
  return { winner, metric, candidates: candidates.length };
}

/**
 * The two scores a trial is ranked by, for storage next to the trial (the database's best-config index reads
 * them): the selection metric's value first, the other metric as the tie-break. Non-finite values become null
 * (a null selection score never wins).
 */
export function selectionScores(
  metric: "auc" | "f1",
  values: { auc?: number | null; f1?: number | null },
): { selectionScore: number | null; tiebreakScore: number | null } {
  const num = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const [m, o] = metric === "auc" ? [values.auc, values.f1] : [values.f1, values.auc];
  return { selectionScore: num(m), tiebreakScore: num(o) };
}
