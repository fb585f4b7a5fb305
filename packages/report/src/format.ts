/** Number and label formatting shared by the renderers (every metric with three decimals). */
import type { Interval, ScoreLine } from "./model.ts";

export const DASH = "—";

export function fmt(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? v.toFixed(3) : DASH;
}

export function fmtInterval(ci: Interval | null | undefined): string {
  return ci ? `${fmt(ci.lower)}–${fmt(ci.upper)}` : "";
}

/** "0.912 (0.850–0.960)": the estimate and its 95% interval, when there is one. */
export function withInterval(line: ScoreLine, key: string): string {
  const v = fmt(line.metrics[key]);
  const ci = fmtInterval(line.intervals[key]);
  return ci ? `${v} (${ci})` : v;
}

export function fmtLr(lr: number): string {
  return String(lr);
}

export function subsetLabel(s: readonly string[]): string {
  return s.length ? s.join(", ") : "none";
}

export const METRIC_LABELS: Record<string, string> = {
  auc: "AUC", f1: "F1", macroF1: "macro F1", accuracy: "accuracy", macroAuc: "macro AUC", valLoss: "validation loss",
};

/** "2026-12-01 12:06 UTC" (no seconds: the report's numbers are its metrics). */
export function fmtTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : DASH;
}

export const KIND_LABELS: Record<string, string> = {
  binarised: "Binarised (Table 17)", cross_dataset: "Cross-dataset (Tables 15–16)", "cross-dataset": "Cross-dataset (Tables 15–16)",
};
