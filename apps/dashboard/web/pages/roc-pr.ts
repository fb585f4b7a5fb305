/**
 * A final training's ROC and precision–recall curves, per kept split (validation, test), from
 * GET /v1/trials/:id/curves: one line per class (the positive class for binary; every class one-vs-rest for
 * multiclass), the areas the API computed in the legend and in a table beside them. Nothing is recomputed here.
 */
import { chartBox, draw, initCharts, PALETTE, tooltip } from "../charts.ts";
import { h, replace, section, table } from "../dom.ts";
import { num } from "../format.ts";

interface ClassCurves { class: string; roc?: Array<{ fpr: number; tpr: number }>; pr?: Array<{ precision: number; recall: number }>; auc?: number; averagePrecision?: number; positives?: number; negatives?: number; undefined?: string }
/** GET /v1/trials/:id/curves: per split, per class ROC and PR points with their areas. */
export interface CurvesAnswer { splits: Array<{ split: string; n: number; curves: ClassCurves[] }> }

const SPLIT_NAMES: Record<string, string> = { val: "validation", test: "test" };

export function drawRocPr(box: HTMLElement, answer: CurvesAnswer): void {
  const cells: HTMLElement[] = [];
  const todo: Array<() => void> = [];
  const rows: Array<Array<string | HTMLElement>> = [];
  for (const sp of answer.splits ?? []) {
    const splitName = SPLIT_NAMES[sp.split] ?? sp.split;
    for (const c of sp.curves) {
      const key = `${sp.split}:${c.class}`;
      rows.push([
        splitName,
        c.class,
        h("span", { "data-auc": key }, c.undefined ? "undefined" : num(c.auc)),
        h("span", { "data-ap": key }, c.undefined ? "undefined" : num(c.averagePrecision)),
        String(sp.n),
        c.positives == null ? "–" : `${c.positives} / ${c.negatives}`,
        c.undefined ? c.undefined : `${c.roc?.length ?? 0} / ${c.pr?.length ?? 0}`,
      ]);
    }
    const drawable = sp.curves.filter((c) => c.roc && c.pr);
    if (!drawable.length) continue;
    for (const kind of ["roc", "pr"] as const) {
      const host = chartBox(`${kind}-${sp.split}`, 300, `${kind === "roc" ? "ROC" : "precision-recall"} curve, ${splitName} split`);
      cells.push(h("div", null, h("h3", null, `${kind === "roc" ? "ROC" : "Precision–recall"} · ${splitName} (n = ${sp.n})`), host));
      todo.push(() =>
        draw(host, {
          legend: { top: 0, type: "scroll" },
          tooltip: tooltip({ trigger: "item", formatter: (p: { seriesName: string; value: [number, number] }) => `${p.seriesName}\n${kind === "roc" ? "FPR" : "recall"} ${num(p.value[0])}, ${kind === "roc" ? "TPR" : "precision"} ${num(p.value[1])}` }),
          grid: { left: 56, right: 16, top: 36, bottom: 40 },
          xAxis: { type: "value", min: 0, max: 1, name: kind === "roc" ? "false positive rate" : "recall", nameLocation: "middle", nameGap: 26 },
          // The axis name runs along the axis: above it, it would collide with the legend on a phone.
          yAxis: { type: "value", min: 0, max: 1, name: kind === "roc" ? "true positive rate" : "precision", nameLocation: "middle", nameGap: 34 },
          series: [
            ...drawable.map((c, i) => ({
              id: c.class,
              name: `${c.class} (${kind === "roc" ? `AUC ${num(c.auc)}` : `AP ${num(c.averagePrecision)}`})`,
              type: "line",
              showSymbol: false,
              step: kind === "pr" ? "start" : undefined, // AP = Σ ΔR·P: each point's precision over the recall step up to it
              color: PALETTE[i % PALETTE.length],
              data: kind === "roc" ? c.roc!.map((p) => [p.fpr, p.tpr]) : c.pr!.map((p) => [p.recall, p.precision]),
            })),
            // The chance line: the diagonal for ROC.
            ...(kind === "roc" ? [{ id: "chance", name: "chance", type: "line", silent: true, showSymbol: false, color: "#94a3b8", lineStyle: { type: "dashed", width: 1 }, data: [[0, 0], [1, 1]] }] : []),
          ],
        }),
      );
    }
  }
  if (!rows.length) return;
  replace(
    box,
    section(
      "ROC and precision–recall (from the stored predictions)",
      h("p", { class: "muted" }, "Areas as the API computes them from the kept per-image probabilities: AUC under the ROC curve, AP (average precision) under the precision–recall curve."),
      table(["Split", "Class", "AUC", "AP", "Images", "Positives / negatives", "Points (ROC / PR)"], rows, { "data-table": "curve-areas" }),
      h("div", { class: "grid2" }, cells),
    ),
  );
  initCharts(box);
  for (const f of todo) f();
}
