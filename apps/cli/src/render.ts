/** Tables for results people compare. */
import Table from "cli-table3";

const fmt = (v: unknown, digits = 3) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");
const lr = (v: number) => v.toExponential(0);

export function leaderboardTable(rows: any[]): string {
  const t = new Table({ head: ["scenario", "architecture", "decided by", "score", "val AUC", "val F1", "val loss", "lr", "augmentations", "epoch"] });
  for (const r of rows) {
    t.push([r.scenarioKey, r.architecture, r.decidedBy, fmt(r.selectionScore), fmt(r.valAuc), fmt(r.valF1), fmt(r.valLoss), lr(r.learningRate), r.augmentations.join(", ") || "none", r.bestEpoch ?? "–"]);
  }
  return t.toString();
}

export function trialsTable(trials: any[]): string {
  const t = new Table({ head: ["#", "status", "lr", "augmentations", "epochs", "attempts", "val AUC", "val F1", "score", "error"] });
  for (const r of trials) {
    t.push([r.stage === "final" ? `${r.position} final` : r.position, r.status, lr(r.learningRate), r.augmentations.join(", ") || "none", r.epochsDone, r.attemptCount, fmt(r.valAuc), fmt(r.valF1), fmt(r.selectionScore), (r.error ?? "").slice(0, 40)]);
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
