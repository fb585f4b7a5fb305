/**
 * The report as CSV: one row per number the report shows, in long form (section, model, configuration, metric,
 * value, interval), so that a spreadsheet or a script can take any table apart. RFC 4180 quoting; a text field
 * a spreadsheet would run as a formula is prefixed with a quote mark.
 */
import { EVALUATION_COLUMNS, type Report, type ScoreLine } from "./model.ts";
import { subsetLabel } from "./format.ts";

export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return values.map(csvField).join(",");
}

const HEADER = ["section", "architecture", "trial_id", "learning_rate", "augmentations", "test_set", "metric", "value", "ci_lower", "ci_upper", "n", "status"];

export function toCsv(r: Report): string {
  const rows: (string | number | null)[][] = [];
  if (r.sweep.error) rows.push(["sweep", null, r.sweep.id, null, null, null, "error", r.sweep.error, null, null, null, r.sweep.status]);
  for (const g of r.grids) {
    g.subsets.forEach((sub, i) => g.cells[i]!.forEach((c, j) => {
      if (!c) return;
      const stopped = c.stoppedEarlyAt !== null ? [["stoppedEarlyAt", c.stoppedEarlyAt] as const] : [];
      for (const [metric, value] of [["valAuc", c.valAuc], ["valF1", c.valF1], ["valLoss", c.valLoss], ["bestEpoch", c.bestEpoch], ...stopped] as const) {
        rows.push([c.winner ? "search (winner)" : "search", g.architecture, c.trialId, g.learningRates[j]!, subsetLabel(sub), "validation", metric, value, null, null, null, c.status]);
      }
    }));
  }
  const score = (section: string, arch: string, trialId: string, lr: number | null, aug: string | null, set: string, line: ScoreLine | null, keys: string[], status: string) => {
    for (const k of keys) {
      const ci = line?.intervals[k] ?? null;
      rows.push([section, arch, trialId, lr, aug, set, k, line?.metrics[k] ?? null, ci?.lower ?? null, ci?.upper ?? null, line?.n ?? null, status]);
    }
  };
  for (const f of r.finals) {
    score("final", f.architecture, f.trialId, f.learningRate, subsetLabel(f.augmentations), "test", f.test, r.columns.map((c) => c.key), f.status);
    f.confusion?.matrix.forEach((row, i) => row.forEach((v, j) => {
      rows.push(["confusion", f.architecture, f.trialId, f.learningRate, subsetLabel(f.augmentations), "test", `${f.confusion!.classes[i]} -> ${f.confusion!.classes[j]}`, v, null, null, null, f.status]);
    }));
  }
  for (const e of r.evaluations) {
    score(e.kind, e.architecture, e.trialId, null, null, e.dataset, e.score, EVALUATION_COLUMNS.map((c) => c.key), e.status);
    if (e.comparison) score(`${e.kind} (multiclass read as binary)`, e.architecture, e.trialId, null, null, e.dataset, e.comparison, EVALUATION_COLUMNS.map((c) => c.key), e.status);
  }
  return `${[csvLine(HEADER), ...rows.map(csvLine)].join("\n")}\n`;
}
