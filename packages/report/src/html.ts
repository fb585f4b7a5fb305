/**
 * The report as one self-contained HTML page (inline CSS, no scripts, no external resources). Every piece of
 * text goes through esc(): a sweep or dataset name renders as text, never as markup.
 */
import { EVALUATION_COLUMNS, type Report, type ScoreLine } from "./model.ts";
import { IMPORTANCE_NOTE, importanceTable } from "./importance.ts";
import { DASH, fmt, fmtInterval, fmtLr, fmtTime, KIND_LABELS, METRIC_LABELS, subsetLabel } from "./format.ts";

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d8dde6;padding-bottom:.25rem}
h3{font-size:1rem;margin:1.25rem 0 .4rem}.meta{color:#556;margin:.1rem 0}.failed{color:#b91c1c;margin:.4rem 0}.note{color:#556;font-size:.9em}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d8dde6;padding:.3rem .55rem;text-align:right;vertical-align:top}
th{background:#f3f5f9;font-weight:600}td.l,th.l{text-align:left}
td .ci{display:block;color:#667;font-size:.85em}td.win{background:#e8f5e9;font-weight:600}
td.na{color:#99a}.cm td.diag{background:#e3f2fd;font-weight:600}code{font-size:.9em}`;

function cell(line: ScoreLine | null, key: string): string {
  if (!line) return `<td class="na">${DASH}</td>`;
  const ci = fmtInterval(line.intervals[key]);
  return `<td>${fmt(line.metrics[key])}${ci ? `<span class="ci">${ci}</span>` : ""}</td>`;
}

/** A header row; the first column (row labels) and the named text columns are left-aligned like their cells. */
function head(labels: string[], textColumns: string[] = []): string {
  return `<tr>${labels.map((l, i) => `<th${i === 0 || textColumns.includes(l) ? ' class="l"' : ""}>${esc(l)}</th>`).join("")}</tr>`;
}

export function toHtml(r: Report): string {
  const s = r.sweep;
  const title = s.name ? s.name : s.id;
  const b: string[] = [];
  b.push(`<h1>Sweep report: ${esc(title)}</h1>`);
  b.push(`<p class="meta">Sweep <code>${esc(s.id)}</code> · ${esc(s.status)} · scenario ${esc(s.scenarioKey)} (${esc(s.task)}; classes ${esc(s.classes.join(", "))}; positive ${esc(s.positiveClass)})</p>`);
  if (s.error) b.push(`<p class="failed"><strong>The sweep failed:</strong> ${esc(s.error)}</p>`);
  b.push(`<p class="meta">Preset ${esc(s.preset)} · seed ${s.seed} · selection metric: validation ${esc(METRIC_LABELS[s.selectionMetric] ?? s.selectionMetric)} · created ${esc(fmtTime(s.createdAt))}</p>`);

  b.push(`<h2>Search</h2><p class="note">Validation AUC / F1 at each trial's best epoch (validation loss below); the highlighted cell is the configuration retrained as the final model.</p>`);
  if (s.earlyStopping) b.push(`<p class="note">Early stopping (ASHA): at epochs ${esc(s.earlyStopping.rungs.join(", "))} a trial went on only in the top 1/${s.earlyStopping.eta} of its architecture's trials there; trials it stopped say so, scored at their best epoch up to that rung.</p>`);
  for (const g of r.grids) {
    b.push(`<h3>${esc(g.architecture)}</h3><table>${head(["augmentations \\ learning rate", ...g.learningRates.map(fmtLr)])}`);
    g.subsets.forEach((sub, i) => {
      const tds = g.cells[i]!.map((c) => {
        if (!c) return `<td class="na"></td>`;
        if (c.status !== "succeeded") return `<td class="na">${esc(c.status)}</td>`;
        return `<td${c.winner ? ' class="win"' : ""}>${fmt(c.valAuc)} / ${fmt(c.valF1)}<span class="ci">loss ${fmt(c.valLoss)}</span>${c.stoppedEarlyAt !== null ? `<span class="ci">stopped at epoch ${c.stoppedEarlyAt}</span>` : ""}</td>`;
      });
      b.push(`<tr><td class="l">${esc(subsetLabel(sub))}</td>${tds.join("")}</tr>`);
    });
    b.push(`</table>`);
  }

  if (r.importance.length) {
    const t = importanceTable(r.importance);
    b.push(`<h2>Hyperparameter importance</h2>`, `<p class="note">${esc(IMPORTANCE_NOTE)}</p>`);
    if (t.rows.length) b.push(`<table class="importance">${head(t.header)}${t.rows.map((row) => `<tr>${row.map((c, i) => `<td${i === 0 ? ' class="l"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("")}</table>`);
    for (const a of r.importance) {
      if (!a.enough) b.push(`<p class="note">${esc(`${a.architecture}: not enough trials (${a.reason}).`)}</p>`);
      if (a.stoppedEarly) b.push(`<p class="note">${esc(`${a.architecture}: ${a.stoppedEarly} trial(s) stopped early left out (their scores stop at a rung).`)}</p>`);
    }
  }
  b.push(`<h2>Final models on the test set</h2>`);
  if (r.finals.length === 0) b.push(`<p class="note">No final training yet.</p>`);
  else {
    b.push(`<p class="note">Test metrics with 95% bootstrap intervals${s.task === "multiclass" ? " (binary AUC: COVID-19 vs the rest; multiclass AUC: one-vs-rest mean)" : ""}.</p>`);
    b.push(`<table>${head(["Model", ...r.columns.map((c) => c.label), "n", "lr", "augmentations", "best epoch", "epochs"], ["augmentations"])}`);
    for (const f of r.finals) {
      const scores = f.status === "succeeded" ? r.columns.map((c) => cell(f.test, c.key)).join("") : r.columns.map(() => `<td class="na">${esc(f.status)}</td>`).join("");
      b.push(`<tr><td class="l">${esc(f.architecture)}</td>${scores}<td>${f.test?.n ?? DASH}</td><td>${fmtLr(f.learningRate)}</td><td class="l">${esc(subsetLabel(f.augmentations))}</td><td>${f.bestEpoch ?? DASH}</td><td>${f.epochsDone}</td></tr>`);
    }
    b.push(`</table>`);
    for (const f of r.finals) {
      if (!f.confusion) continue;
      const cls = f.confusion.classes;
      b.push(`<h3>Confusion matrix: ${esc(f.architecture)}</h3><p class="note">Rows: true class; columns: predicted class.</p><table class="cm">${head(["true \\ predicted", ...cls])}`);
      f.confusion.matrix.forEach((row, i) => b.push(`<tr><th class="l">${esc(cls[i] ?? String(i))}</th>${row.map((v, j) => `<td${i === j ? ' class="diag"' : ""}>${v}</td>`).join("")}</tr>`));
      b.push(`</table>`);
    }
  }

  b.push(`<h2>Further evaluations</h2>`);
  if (r.evaluations.length === 0) b.push(`<p class="note">None yet (binarised and cross-dataset evaluations of the final models appear here once run).</p>`);
  for (const kind of [...new Set(r.evaluations.map((e) => e.kind))]) {
    b.push(`<h3>${esc(KIND_LABELS[kind] ?? kind)}</h3><table>${head(["Model", "Test set", "Images", ...EVALUATION_COLUMNS.map((c) => c.label)], ["Test set"])}`);
    for (const e of r.evaluations.filter((x) => x.kind === kind)) {
      const seen = e.removed != null ? ` (${e.removed} removed)` : "";
      const scores = e.status === "succeeded" ? EVALUATION_COLUMNS.map((c) => cell(e.score, c.key)).join("") : EVALUATION_COLUMNS.map(() => `<td class="na">${esc(e.status)}</td>`).join("");
      b.push(`<tr><td class="l">${esc(e.architecture)}</td><td class="l">${esc(e.dataset)}</td><td>${e.images}${esc(seen)}</td>${scores}</tr>`);
      if (e.comparison) b.push(`<tr><td class="l">${esc(e.architecture)}, multiclass read as binary</td><td class="l">${esc(e.dataset)}</td><td>${e.comparison.n ?? e.images}</td>${EVALUATION_COLUMNS.map((c) => cell(e.comparison, c.key)).join("")}</tr>`);
    }
    b.push(`</table>`);
  }
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sweep report: ${esc(title)}</title><style>${CSS}</style></head>\n<body>\n${b.join("\n")}\n</body></html>\n`;
}
