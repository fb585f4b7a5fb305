/**
 * @hypersweep/report: a sweep's report (search grid, final models' test metrics with intervals, confusion
 * matrices, further evaluations) built from the API's own data and rendered as Markdown, HTML or CSV. Pure.
 */
export * from "./model.ts";
export { toMarkdown, mdText } from "./markdown.ts";
export { toHtml, esc } from "./html.ts";
export { toCsv, csvLine, csvField } from "./csv.ts";
export { fmt, withInterval } from "./format.ts";

import type { Report } from "./model.ts";
import { toCsv } from "./csv.ts";
import { toHtml } from "./html.ts";
import { toMarkdown } from "./markdown.ts";

export const REPORT_FORMATS = ["md", "html", "csv"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const REPORT_CONTENT_TYPES: Record<ReportFormat, string> = {
  md: "text/markdown; charset=utf-8", html: "text/html; charset=utf-8", csv: "text/csv; charset=utf-8",
};

export function renderReport(r: Report, format: ReportFormat): string {
  return format === "html" ? toHtml(r) : format === "csv" ? toCsv(r) : toMarkdown(r);
}
