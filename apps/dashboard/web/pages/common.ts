/** Small pieces several pages share. */
import { h } from "../dom.ts";
import { pct } from "../format.ts";

export const statusBadge = (status: string) => h("span", { class: `badge s-${status}`, "data-status": status }, status);

export function progressBar(fraction: number, label: string): HTMLElement {
  const f = Math.max(0, Math.min(1, fraction));
  return h(
    "div",
    { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(f * 100), "aria-label": label, title: `${label}: ${pct(f)}` },
    h("span", { style: `width:${(f * 100).toFixed(1)}%` }),
  );
}

/** A definition list of label → value. */
export function facts(pairs: Array<[string, string | Node]>): HTMLElement {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))));
}

/** The metric that decides for a task. */
export const metricName = (task: string, selectionMetric?: string) => (selectionMetric ? selectionMetric.toUpperCase() : task === "binary" ? "AUC" : "F1");
