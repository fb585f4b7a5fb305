/**
 * The report as Markdown (GitHub tables), short enough to read in a terminal. User-supplied text (the sweep's
 * name, dataset names) is escaped so that it cannot break a table or inject markup.
 */
import { EVALUATION_COLUMNS, type Report, type ScoreLine } from "./model.ts";
import { IMPORTANCE_NOTE, importanceTable } from "./importance.ts";
import { DASH, fmt, fmtLr, fmtTime, KIND_LABELS, METRIC_LABELS, subsetLabel, withInterval } from "./format.ts";

/** Escapes Markdown's table and inline syntax in user-supplied text (names); our own identifiers go as they are. */
export function mdText(s: string): string {
  return s.replace(/[\\`*_[\]#|<>~]/g, (c) => `\\${c}`).replace(/[\r\n\t]+/g, " ");
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

function scoreCells(line: ScoreLine | null, keys: string[]): string[] {
  return keys.map((k) => (line ? withInterval(line, k) : DASH));
}

export function toMarkdown(r: Report): string {
  const s = r.sweep;
  const out: string[] = [];
  out.push(`# Sweep report: ${s.name ? mdText(s.name) : s.id}`, "");
  out.push(`Sweep \`${s.id}\` · ${s.status} · scenario ${s.scenarioKey} (${s.task}, classes: ${s.classes.join(", ")}; positive: ${s.positiveClass})`);
  out.push(`Preset ${s.preset} · seed ${s.seed} · selection metric: validation ${METRIC_LABELS[s.selectionMetric] ?? mdText(s.selectionMetric)} · created ${fmtTime(s.createdAt)}`, "");
  if (s.error) out.push(`**The sweep failed:** ${mdText(s.error)}`, "");

  const byLoss = s.selectionMetric === "valLoss";
  out.push("## Search", "", `Validation AUC / F1${byLoss ? " · loss (lower is better: it decides)" : ""} at each trial's best epoch; ★ marks the configuration retrained as the final model.`, "");
  if (s.earlyStopping) out.push(`Early stopping (ASHA): at epochs ${s.earlyStopping.rungs.join(", ")} a trial went on only in the top 1/${s.earlyStopping.eta} of its architecture's trials there; "stopped at N" marks the trials it stopped (scored at their best epoch up to N).`, "");
  for (const g of r.grids) {
    out.push(`### ${g.architecture}`, "");
    const rows = g.subsets.map((sub, i) => [subsetLabel(sub), ...g.cells[i]!.map((c) => {
      if (!c) return "";
      if (c.status !== "succeeded") return c.status;
      return `${fmt(c.valAuc)} / ${fmt(c.valF1)}${byLoss ? ` · loss ${fmt(c.valLoss)}` : ""}${c.winner ? " ★" : ""}${c.stoppedEarlyAt !== null ? ` (stopped at ${c.stoppedEarlyAt})` : ""}`;
    })]);
    out.push(...table(["augmentations \\ lr", ...g.learningRates.map(fmtLr)], rows), "");
  }

  if (r.importance.length) {
    const t = importanceTable(r.importance);
    out.push("## Hyperparameter importance", "", IMPORTANCE_NOTE, "");
    if (t.rows.length) out.push(...table(t.header, t.rows), "");
    for (const a of r.importance) {
      if (!a.enough) out.push(`${a.architecture}: not enough trials (${a.reason}).`, "");
      if (a.stoppedEarly) out.push(`${a.architecture}: ${a.stoppedEarly} trial(s) stopped early left out (their scores stop at a rung).`, "");
    }
  }

  out.push("## Final models on the test set", "");
  if (r.finals.length === 0) out.push("No final training yet.", "");
  else {
    out.push(`Test metrics with 95% bootstrap intervals${s.task === "multiclass" ? " (binary AUC: COVID-19 vs the rest; multiclass AUC: one-vs-rest mean)" : ""}.`, "");
    const keys = r.columns.map((c) => c.key);
    out.push(...table(["Model", ...r.columns.map((c) => c.label), "n"], r.finals.map((f) => [
      f.architecture, ...(f.status === "succeeded" ? scoreCells(f.test, keys) : keys.map(() => f.status)), f.test?.n != null ? String(f.test.n) : DASH,
    ])), "");
    out.push(...table(["Model", "lr", "augmentations", "best epoch", "epochs"], r.finals.map((f) => [
      f.architecture, fmtLr(f.learningRate), subsetLabel(f.augmentations), f.bestEpoch != null ? String(f.bestEpoch) : DASH, String(f.epochsDone),
    ])), "");
    for (const f of r.finals) {
      if (!f.confusion) continue;
      out.push(`### Confusion matrix: ${f.architecture} (rows true, columns predicted)`, "");
      out.push(...table(["true \\ predicted", ...f.confusion.classes], f.confusion.matrix.map((row, i) => [f.confusion!.classes[i] ?? String(i), ...row.map(String)])), "");
    }
  }

  out.push("## Further evaluations", "");
  if (r.evaluations.length === 0) out.push("None yet (binarised and cross-dataset evaluations of the final models appear here once run).", "");
  else {
    const keys = EVALUATION_COLUMNS.map((c) => c.key);
    for (const kind of [...new Set(r.evaluations.map((e) => e.kind))]) {
      out.push(`### ${KIND_LABELS[kind] ?? mdText(kind)}`, "");
      const rows: string[][] = [];
      for (const e of r.evaluations.filter((x) => x.kind === kind)) {
        const seen = e.removed != null ? ` (${e.removed} removed)` : "";
        rows.push([e.architecture, mdText(e.dataset), `${e.images}${seen}`, ...(e.status === "succeeded" ? scoreCells(e.score, keys) : keys.map(() => e.status))]);
        if (e.comparison) rows.push([`${e.architecture}, multiclass read as binary`, mdText(e.dataset), String(e.comparison.n ?? e.images), ...scoreCells(e.comparison, keys)]);
      }
      out.push(...table(["Model", "Test set", "Images", ...EVALUATION_COLUMNS.map((c) => c.label)], rows), "");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}
