/** Tables for results people compare. */
import Table from "cli-table3";

/**
 * Colour only on a terminal, and never with NO_COLOR set to anything (https://no-color.org); FORCE_COLOR
 * (not 0) forces it. Piped or redirected output carries no ANSI codes.
 */
export function useColor(stream: { isTTY?: boolean } = process.stdout, env: Record<string, string | undefined> = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false") return true;
  return stream.isTTY === true;
}

/** A table whose header is cyan when colour is on; no other colour, whatever cli-table3's colour library detects. */
function table(head: string[]): InstanceType<typeof Table> {
  const colour = useColor();
  return new Table({ head: head.map((h) => (colour ? `\x1b[36m${h}\x1b[39m` : h)), style: { head: [], border: [] } });
}

const fmt = (v: unknown, digits = 3) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");
const lr = (v: number) => v.toExponential(0);

export function leaderboardTable(rows: any[]): string {
  // Which trainer trained each winner, once any winner was not trained by the default one.
  const byTrainer = rows.some((r) => r.trainer && r.trainer !== "tfjs");
  const t = table(["scenario", "architecture", ...(byTrainer ? ["trainer"] : []), "decided by", "score", "val AUC", "val F1", "val loss", "lr", "augmentations", "epoch"]);
  for (const r of rows) {
    // `score` is the metric as it reads (a validation loss as it is); selectionScore is only the ranking key.
    t.push([r.scenarioKey, r.architecture, ...(byTrainer ? [r.trainer ?? "tfjs"] : []), r.decidedBy, fmt(r.score ?? r.selectionScore), fmt(r.valAuc), fmt(r.valF1), fmt(r.valLoss), lr(r.learningRate), r.augmentations.join(", ") || "none", r.bestEpoch ?? "–"]);
  }
  return t.toString();
}

/**
 * The trials of a sweep. `selectionMetric` (the sweep's) turns each trial's selection score (a ranking key, a
 * validation loss negated) back into the metric as it reads.
 */
export function trialsTable(trials: any[], selectionMetric?: string): string {
  const score = (v: unknown) => (selectionMetric === "valLoss" && typeof v === "number" ? -v : v);
  const t = table(["#", "architecture", "status", "lr", "augmentations", "epochs", "attempts", "val AUC", "val F1", "score", "error"]);
  for (const r of trials) {
    t.push([r.stage === "final" ? `${r.position} final` : r.position, r.architecture, r.stoppedEarlyAt != null ? "stopped early" : r.status, lr(r.learningRate), r.augmentations.join(", ") || "none", r.epochsDone, r.attemptCount, fmt(r.valAuc), fmt(r.valF1), fmt(score(r.selectionScore)), (r.error ?? "").slice(0, 40)]);
  }
  return t.toString();
}

/** "0.842 (95% CI 0.780–0.901)" for a metric of a test report, or "–". */
export function withInterval(test: any, metric: string): string {
  const v = test?.metrics?.[metric];
  const ci = test?.intervals?.[metric];
  if (typeof v !== "number") return "–";
  return ci ? `${v.toFixed(3)} (${Math.round((ci.level ?? 0.95) * 100)}% CI ${ci.lower.toFixed(3)}–${ci.upper.toFixed(3)})` : v.toFixed(3);
}

export function workerTokensTable(rows: any[]): string {
  const t = table(["id", "name", "created", "last used", "revoked"]);
  for (const r of rows) t.push([r.id, r.name, r.createdAt, r.lastUsedAt ?? "never", r.revokedAt ?? "–"]);
  return t.toString();
}
