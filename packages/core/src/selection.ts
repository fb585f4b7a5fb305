/**
 * Choosing the best trial. What decides is the sweep's selection metric: by default the paper's (validation AUC
 * of COVID-19 for a binary task, its validation F1 for a multiclass one), or one chosen per sweep: macro F1,
 * accuracy, macro AUC, or validation loss (lower is better). Ties break deterministically: the tie-break metric
 * (the other of AUC/F1; the paper's metric of the task for the other choices), then lower validation loss, then
 * the earlier plan position. Failed, cancelled, unfinished and NaN trials never win; an empty or all-failed set
 * yields `{ winner: null, reason }`, not an exception. The database's best-config query orders the same way
 * (it reads `selectionScores`, stored with each trial).
 */
import type { SelectionMetric, Task } from "./trainer-contract.ts";

/** Validation values a metric is read from (an epoch's metrics plus its loss, or a trial's result). */
export type MetricValues = Partial<Record<SelectionMetric, number | null>> & Record<string, unknown>;

export interface SelectableTrial {
  id: string;
  position: number;
  status: string;
  valAuc: number | null | undefined;
  valF1: number | null | undefined;
  valLoss: number | null | undefined;
  /** The trial's result metrics (what the metrics other than AUC and F1 are read from). */
  metrics?: unknown;
}

export interface Selection<T extends SelectableTrial> {
  winner: T | null;
  metric: SelectionMetric;
  reason?: string;
  /** Trials that could compete. */
  candidates: number;
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** The paper's selection metric (section 3.2): AUC for a binary task, F1 of COVID-19 for a multiclass one. */
export function selectionMetricFor(task: Task): "auc" | "f1" {
  return task === "binary" ? "auc" : "f1";
}

/** What breaks a tie on `metric`: the other of AUC/F1, or the paper's metric of the task for the other choices. */
export function tiebreakMetricFor(metric: SelectionMetric, task: Task): SelectionMetric {
  if (metric === "auc") return "f1";
  if (metric === "f1") return "auc";
  return selectionMetricFor(task);
}

const DESCRIPTIONS: Record<SelectionMetric, string> = {
  auc: "validation AUC",
  f1: "validation F1",
  macroF1: "validation macro F1",
  accuracy: "validation accuracy",
  macroAuc: "validation macro AUC",
  valLoss: "validation loss (lower is better)",
};

/** What decides, in words a dashboard can show ("validation AUC", "validation loss (lower is better)"). */
export function describeMetric(metric: SelectionMetric): string {
  return DESCRIPTIONS[metric];
}

/**
 * The score of `metric` in `values`, oriented so that higher is better (validation loss is negated); null when
 * the value is missing or not finite. A binary task's macro AUC is its AUC (the two one-vs-rest AUCs are equal),
 * so a trainer that reports only `auc` for binary tasks can still be ranked by macro AUC.
 */
export function metricScore(metric: SelectionMetric, values: MetricValues, task?: Task): number | null {
  if (metric === "valLoss") return finite(values.valLoss) ? -values.valLoss : null;
  const v = metric === "macroAuc" && task === "binary" && !finite(values.macroAuc) ? values.auc : values[metric];
  return finite(v) ? v : null;
}

/** The values a trial is ranked by: its result metrics, with the stored AUC, F1 and loss columns on top. */
function trialValues(t: SelectableTrial): MetricValues {
  const metrics = t.metrics && typeof t.metrics === "object" ? (t.metrics as MetricValues) : {};
  return { ...metrics, auc: t.valAuc ?? null, f1: t.valF1 ?? null, valLoss: t.valLoss ?? null };
}

/** Negative when a ranks before b. */
export function compareTrials(a: SelectableTrial, b: SelectableTrial, metric: SelectionMetric, task: Task = "binary"): number {
  const va = trialValues(a);
  const vb = trialValues(b);
  for (const m of [metric, tiebreakMetricFor(metric, task)]) {
    const sa = metricScore(m, va, task) ?? -Infinity;
    const sb = metricScore(m, vb, task) ?? -Infinity;
    if (sa !== sb) return sb > sa ? 1 : -1;
  }
  const al = finite(a.valLoss) ? a.valLoss : Infinity;
  const bl = finite(b.valLoss) ? b.valLoss : Infinity;
  if (al !== bl) return al < bl ? -1 : 1;
  return a.position - b.position;
}

export function selectBest<T extends SelectableTrial>(trials: readonly T[], task: Task, opts: { metric?: SelectionMetric } = {}): Selection<T> {
  const metric = opts.metric ?? selectionMetricFor(task);
  const candidates = trials.filter((t) => t.status === "succeeded" && metricScore(metric, trialValues(t), task) !== null);
  if (candidates.length === 0) {
    const reason = trials.length === 0 ? "no trials" : `no succeeded trial has a finite ${describeMetric(metric).replace(" (lower is better)", "")}`;
    return { winner: null, metric, reason, candidates: 0 };
  }
  const winner = candidates.reduce((best, t) => (compareTrials(t, best, metric, task) < 0 ? t : best));
  return { winner, metric, candidates: candidates.length };
}

/**
 * The two scores a trial is ranked by, for storage next to the trial (the database's best-config index reads
 * them): the selection metric's score first, the tie-break metric's second, both oriented so that higher is
 * better (a validation loss is stored negated). Non-finite values become null (a null selection score never wins).
 */
export function selectionScores(metric: SelectionMetric, values: MetricValues, task: Task = "binary"): { selectionScore: number | null; tiebreakScore: number | null } {
  return { selectionScore: metricScore(metric, values, task), tiebreakScore: metricScore(tiebreakMetricFor(metric, task), values, task) };
}
