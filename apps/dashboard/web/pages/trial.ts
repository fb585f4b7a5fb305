/**
 * Trial: its configuration, epochs (table and curves), attempts, and for a final training the test metrics
 * with 95% intervals, the confusion matrix (counts and row-normalised) and ROC / precision-recall curves where
 * the API has stored predictions.
 */
import { get, getOptional, hasRoute } from "../api.ts";
import { chartBox, draw, PALETTE, tooltip } from "../charts.ts";
import { h, replace, section, table } from "../dom.ts";
import { date, lr, num, subset } from "../format.ts";
import type { Page, PageContext } from "../page.ts";
import { facts, statusBadge } from "./common.ts";
import { drawRocPr, type CurvesAnswer } from "./roc-pr.ts";

interface Interval { estimate?: number; lower: number; upper: number; level?: number }
interface TestReport { n?: number; classes?: string[]; positiveClass?: string; loss?: number; metrics: Record<string, number | null>; confusionMatrix?: number[][]; intervals?: Record<string, Interval | null> }
interface Trial {
  id: string; sweepId: string; position: number; architecture: string; learningRate: number; augmentations: string[]; stage: string; status: string;
  attemptCount: number; backend: string | null; bestEpoch: number | null; epochsDone: number; valAuc: number | null; valF1: number | null; valLoss: number | null;
  selectionScore: number | null; error: string | null; errorReason: string | null; task: string; scenarioKey: string; startedAt: string | null; finishedAt: string | null;
  metrics: (Record<string, unknown> & { test?: TestReport }) | null;
  epochs: Array<{ epoch: number; attempt: number; trainLoss: number; valLoss: number; valAuc: number | null; valF1: number | null; lr: number; durationMs: number }>;
  attempts: Array<{ number: number; workerId: string; backend: string | null; status: string; startedAt: string; finishedAt: string | null; resumedFrom: number | null; error: string | null }>;
}
interface Worker { id: string; host: string }


export function trialPage(ctx: PageContext, id: string): Page {
  return {
    async render() {
      const [t, workers] = await Promise.all([get<Trial>(`/v1/trials/${id}`), get<{ workers: Worker[] }>("/v1/workers").catch(() => ({ workers: [] }))]);
      const hosts = new Map(workers.workers.map((w) => [w.id, w.host]));
      const test = t.metrics?.test;
      const curvesBox = chartBox("trial-curves", 300, "training and validation loss and validation metrics by epoch");
      const parts: Array<HTMLElement | null> = [
        h("p", { class: "muted" }, h("a", { href: "#/sweeps" }, "Sweeps"), " / ", h("a", { href: `#/sweeps/${t.sweepId}` }, "sweep"), " / "),
        h("h1", null, `Trial #${t.position} · ${t.architecture} · ${t.stage}`),
        h(
          "section",
          { class: "card" },
          facts([
            ["Status", statusBadge(t.status)],
            ["Learning rate", lr(t.learningRate)],
            ["Augmentations", subset(t.augmentations)],
            ["Scenario", `${t.scenarioKey} (${t.task})`],
            ["Best epoch", t.bestEpoch == null ? "–" : String(t.bestEpoch)],
            ["Validation AUC", num(t.valAuc)],
            ["Validation F1", num(t.valF1)],
            ["Validation loss", num(t.valLoss)],
            ["Backend", t.backend ?? "–"],
            ["Started", date(t.startedAt)],
            ["Finished", date(t.finishedAt)],
          ]),
          t.error ? h("p", { class: "error", "data-field": "error" }, `${t.errorReason ?? "error"}: ${t.error}`) : null,
        ),
      ];
      if (test) parts.push(testSection(test));
      // ROC and precision-recall curves go right after the test metrics (drawn once their answer arrives).
      const curveBoxes = h("div");
      parts.push(curveBoxes);
      parts.push(
        section("Epochs", h("div", { class: "grid2" }, curvesBox, h("div", { class: "scroll" }, table(["Epoch", "Attempt", "Train loss", "Val loss", "Val AUC", "Val F1", "LR", "Duration"], t.epochs.map((e) => [String(e.epoch), String(e.attempt), num(e.trainLoss), num(e.valLoss), num(e.valAuc), num(e.valF1), lr(e.lr), `${(e.durationMs / 1000).toFixed(1)} s`]), { "data-table": "epochs" })))),
        section(
          "Attempts",
          table(
            ["#", "Worker", "Host", "Backend", "Status", "Started", "Ended", "Resumed from epoch", "Error"],
            t.attempts.map((a) => [String(a.number), a.workerId, hosts.get(a.workerId) ?? "–", a.backend ?? "–", statusBadge(a.status), date(a.startedAt), date(a.finishedAt), a.resumedFrom == null ? "–" : String(a.resumedFrom), h("span", { class: "wrap" }, a.error ?? "")]),
            { "data-table": "attempts" },
          ),
        ),
      );
      replace(ctx.main, parts);
      drawEpochCurves(curvesBox, t);
      if (test?.confusionMatrix && test.classes) drawConfusion(test);
      // Stored predictions give ROC and precision-recall curves; trials without them simply have none.
      // Predictions are kept for final trainings only.
      const curves = t.stage === "final" && (await hasRoute("/v1/trials/{id}/curves")) ? await getOptional<CurvesAnswer>(`/v1/trials/${id}/curves`).catch(() => null) : null;
      if (curves) drawRocPr(curveBoxes, curves);
    },
  };
}

const METRIC_LABELS: Record<string, string> = { auc: "AUC", f1: "F1", precision: "Precision", recall: "Recall", accuracy: "Accuracy", macroAuc: "Macro AUC" };

function testSection(test: TestReport): HTMLElement {
  const keys = Object.keys(METRIC_LABELS).filter((k) => k in test.metrics);
  const rows = keys.map((k) => {
    const ci = test.intervals?.[k] ?? null;
    return [METRIC_LABELS[k], h("span", { "data-metric": k }, num(test.metrics[k])), h("span", { "data-interval": k }, ci ? `[${num(ci.lower)}, ${num(ci.upper)}]` : "–"), ci ? `${num(ci.upper - ci.lower)}` : "–"];
  });
  const cm = test.confusionMatrix && test.classes;
  return section(
    "Test set (held out): metrics with 95% bootstrap intervals",
    h("p", { class: "muted" }, `${test.n ?? "?"} test images${test.positiveClass ? ` · positive class: ${test.positiveClass}` : ""}${test.loss != null ? ` · loss ${num(test.loss)}` : ""}. A wide interval means the test set is too small to tell close configurations apart.`),
    table(["Metric", "Estimate", "95% interval", "Width"], rows, { "data-table": "test-metrics" }),
    cm
      ? h(
          "div",
          { class: "grid2" },
          h("div", null, h("h3", null, "Confusion matrix: counts (rows true, columns predicted)"), chartBox("confusion-counts", 300, "confusion matrix counts")),
          h("div", null, h("h3", null, "Row-normalised (recall per true class)"), chartBox("confusion-normalised", 300, "confusion matrix normalised by row")),
        )
      : null,
  );
}

function drawEpochCurves(host: ReturnType<typeof chartBox>, t: Trial): void {
  const xs = t.epochs.map((e) => e.epoch);
  const s = (name: string, ys: Array<number | null>, axis: number, color: string, dashed = false) => ({ name, type: "line", yAxisIndex: axis, color, showSymbol: xs.length < 40, lineStyle: { type: dashed ? "dashed" : "solid", width: 2 }, data: xs.map((x, i) => [x, ys[i]]) });
  draw(host, {
    legend: { top: 0 },
    tooltip: tooltip({ trigger: "axis" }),
    grid: { left: 56, right: 50, top: 36, bottom: 36 },
    xAxis: { type: "value", name: "epoch", nameLocation: "middle", nameGap: 24, minInterval: 1, min: 1 },
    yAxis: [{ type: "value", name: "loss", scale: true, nameLocation: "middle", nameGap: 40 }, { type: "value", name: "metric", min: 0, max: 1, nameLocation: "middle", nameGap: 34 }],
    series: [
      s("train loss", t.epochs.map((e) => e.trainLoss), 0, PALETTE[0], true),
      s("val loss", t.epochs.map((e) => e.valLoss), 0, PALETTE[0]),
      s("val AUC", t.epochs.map((e) => e.valAuc), 1, PALETTE[1]),
      s("val F1", t.epochs.map((e) => e.valF1), 1, PALETTE[2]),
    ],
  });
}

function drawConfusion(test: TestReport): void {
  const classes = test.classes!;
  const m = test.confusionMatrix!;
  const n = classes.length;
  const cells = (f: (v: number, i: number) => number) => m.flatMap((row, i) => row.map((v, j) => [j, n - 1 - i, f(v, i)]));
  const rowSums = m.map((row) => row.reduce((a, b) => a + b, 0));
  const common = (data: number[][], max: number, fmt: (v: number) => string) => ({
    tooltip: tooltip({ formatter: (p: { value: number[] }) => `true ${classes[n - 1 - p.value[1]]}, predicted ${classes[p.value[0]]}: ${fmt(p.value[2])}` }),
    grid: { left: 110, right: 20, top: 10, bottom: 60 },
    xAxis: { type: "category", data: classes, name: "predicted", nameLocation: "middle", nameGap: 40, axisLabel: { interval: 0, width: 90, overflow: "truncate" } },
    yAxis: { type: "category", data: [...classes].reverse(), name: "true", nameLocation: "middle", nameGap: 95, axisLabel: { width: 90, overflow: "truncate" } },
    visualMap: { show: false, min: 0, max: Math.max(max, 1e-9), inRange: { color: ["#f8fafc", "#1d4ed8"] } },
    series: [{ type: "heatmap", data, label: { show: true, formatter: (p: { value: number[] }) => fmt(p.value[2]) } }],
  });
  const counts = document.querySelector<ReturnType<typeof chartBox>>('[data-chart="confusion-counts"]');
  const norm = document.querySelector<ReturnType<typeof chartBox>>('[data-chart="confusion-normalised"]');
  if (counts) draw(counts, common(cells((v) => v), Math.max(...m.flat()), (v) => String(v)));
  if (norm) draw(norm, common(cells((v, i) => (rowSums[i] ? v / rowSums[i] : 0)), 1, (v) => v.toFixed(2)));
}
