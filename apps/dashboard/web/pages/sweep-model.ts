/** The sweep page's data: trials and their curves, kept current from SSE events. */

export interface TrialRow {
  id: string; position: number; architecture: string; learningRate: number; augmentations: string[]; stage: "search" | "final";
  status: string; attemptCount: number; backend: string | null; bestEpoch: number | null; epochsDone: number;
  valAuc: number | null; valF1: number | null; valLoss: number | null; selectionScore: number | null; error: string | null;
  /** The rung at which early stopping ended this search trial (null or absent: trained to the end). */
  stoppedEarlyAt?: number | null;
}

export interface Curve {
  epoch: number[];
  trainLoss: Array<number | null>;
  valLoss: Array<number | null>;
  valAuc: Array<number | null>;
  valF1: Array<number | null>;
}

export interface SweepSpecView {
  architectures: string[]; learningRates: number[]; augmentations: string[]; searchEpochs: number; finalEpochs: number;
  selectionMetric: "auc" | "f1" | "macroF1" | "accuracy" | "macroAuc" | "valLoss"; task: string; subsetsPerRate: number;
}

/**
 * A trial's selection score as the metric reads: the API's selectionScore is oriented so that higher is better,
 * which negates a validation loss; charts show the loss itself (and treat lower as better).
 */
export function shownScore(t: Pick<TrialRow, "selectionScore">, metric: SweepSpecView["selectionMetric"]): number | null {
  if (t.selectionScore == null) return null;
  return metric === "valLoss" ? -t.selectionScore : t.selectionScore;
}

/** The curve the "selection metric" choice draws: the metric's own column where the epochs carry it. */
export function selectionCurve(c: Curve, metric: SweepSpecView["selectionMetric"]): Array<number | null> {
  return metric === "valLoss" ? c.valLoss : metric === "auc" || metric === "macroAuc" ? c.valAuc : c.valF1;
}

/** GET /v1/sweeps/:id/epochs: every trial's epochs, column by column. */
export interface SweepEpochs {
  trials: Array<{ id: string } & Curve>;
}

export const emptyCurve = (): Curve => ({ epoch: [], trainLoss: [], valLoss: [], valAuc: [], valF1: [] });

export function curvesFrom(e: SweepEpochs): Map<string, Curve> {
  return new Map(e.trials.map(({ id, ...c }) => [id, c]));
}

/** Records one epoch (a retried attempt may send an epoch again: it replaces the old point). */
export function putEpoch(c: Curve, p: { epoch: number; trainLoss?: number | null; valLoss: number | null; valAuc: number | null; valF1: number | null }): void {
  let i = c.epoch.indexOf(p.epoch);
  if (i < 0) {
    i = c.epoch.length;
    while (i > 0 && c.epoch[i - 1] > p.epoch) i--;
    c.epoch.splice(i, 0, p.epoch);
    c.trainLoss.splice(i, 0, null);
    c.valLoss.splice(i, 0, null);
    c.valAuc.splice(i, 0, null);
    c.valF1.splice(i, 0, null);
  }
  if (p.trainLoss !== undefined) c.trainLoss[i] = p.trainLoss;
  c.valLoss[i] = p.valLoss;
  c.valAuc[i] = p.valAuc;
  c.valF1[i] = p.valF1;
}

/** The winner among an architecture's search trials, ranked as the API ranks them. */
export function winnerOf(rows: TrialRow[], metric: SweepSpecView["selectionMetric"]): TrialRow | null {
  let best: TrialRow | null = null;
  const other = (r: TrialRow) => (metric === "auc" || metric === "macroAuc" ? r.valF1 : r.valAuc) ?? -Infinity;
  for (const r of rows) {
    if (r.status !== "succeeded" || r.selectionScore == null || r.stage !== "search") continue;
    if (
      !best ||
      r.selectionScore > best.selectionScore! ||
      (r.selectionScore === best.selectionScore &&
        (other(r) > other(best) || (other(r) === other(best) && ((r.valLoss ?? Infinity) < (best.valLoss ?? Infinity) || ((r.valLoss ?? Infinity) === (best.valLoss ?? Infinity) && r.position < best.position)))))
    )
      best = r;
  }
  return best;
}

/** Quotes a CSV cell; a cell that a spreadsheet would run as a formula is prefixed with '. */
export function csvCell(v: unknown): string {
  let s = v == null ? "" : Array.isArray(v) ? v.join("+") : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const EXPORT_COLUMNS: Array<keyof TrialRow> = ["id", "position", "architecture", "stage", "learningRate", "augmentations", "status", "epochsDone", "attemptCount", "backend", "valAuc", "valF1", "valLoss", "bestEpoch", "selectionScore", "error"];

export function toCsv(rows: TrialRow[]): string {
  return [EXPORT_COLUMNS.join(","), ...rows.map((r) => EXPORT_COLUMNS.map((c) => csvCell(r[c])).join(","))].join("\n") + "\n";
}

/**
 * The search trials hyperparameter importance rests on: finished with a score, trained to the end. A trial
 * stopped early (ASHA) scored only up to its rung, so it is left out and counted apart.
 */
export function importanceTrials(search: TrialRow[]): { trials: Array<{ learningRate: number; augmentations: string[]; score: number }>; stoppedEarly: number } {
  const done = search.filter((t) => t.stage === "search" && t.status === "succeeded" && t.selectionScore != null);
  return {
    trials: done.filter((t) => t.stoppedEarlyAt == null).map((t) => ({ learningRate: t.learningRate, augmentations: t.augmentations, score: t.selectionScore! })),
    stoppedEarly: done.filter((t) => t.stoppedEarlyAt != null).length,
  };
}
