/**
 * Leaderboard (per dataset): for each scenario, the best configuration of every architecture, its validation
 * score, and its final training's test metrics with 95% intervals, drawn as a forest plot. Each row links to
 * the winning search trial and to its final training. A trainer may be chosen (#/leaderboard/<dataset>/<trainer>);
 * the table names each winner's trainer once any was trained by PyTorch.
 */
import { get } from "../api.ts";
import { chartBox, draw, tooltip } from "../charts.ts";
import { h, replace } from "../dom.ts";
import { lr, num, subset } from "../format.ts";
import type { Page, PageContext } from "../page.ts";
import { statusBadge } from "./common.ts";

interface Interval { lower: number; upper: number }
interface Test { n?: number; metrics: Record<string, number | null>; intervals?: Record<string, Interval | null> }
interface Row {
  trialId: string; sweepId: string; scenarioKey: string; task: string; architecture: string; learningRate: number; augmentations: string[];
  /** selectionScore: the ranking key (higher is better; a validation loss negated); score: the metric as it reads. */
  selectionScore: number; score: number; higherIsBetter: boolean; valAuc: number | null; valF1: number | null; valLoss: number | null; bestEpoch: number | null; decidedBy: string;
  trainer: string;
  final: { trialId: string; status: string; metrics: { test?: Test } | null } | null;
}

/** The test metric drawn: the one that decided when it is AUC or F1, else the paper's of the task. */
const metricOf = (r: Row) => (/AUC/i.test(r.decidedBy) ? "auc" : /F1/.test(r.decidedBy) ? "f1" : r.task === "binary" ? "auc" : "f1");
/** "Validation loss (lower is better)": what decided, as the API words it. */
const decides = (r: Row) => `${r.decidedBy.charAt(0).toUpperCase()}${r.decidedBy.slice(1)} (decides)`;

const TRAINERS: Record<string, string> = { tfjs: "TensorFlow.js", pytorch: "PyTorch" };

export function leaderboardPage(ctx: PageContext, dataset?: string, trainer?: string): Page {
  return {
    async render() {
      const { datasets } = await get<{ datasets: Array<{ id: string; name: string }> }>("/v1/datasets");
      const chosen = datasets.find((d) => d.id === dataset || d.name === dataset) ?? datasets[0];
      const go = (ds: string | undefined, tr: string) => (location.hash = `#/leaderboard/${encodeURIComponent(ds ?? "")}${tr ? `/${tr}` : ""}`);
      const select = h(
        "select",
        { id: "lb-dataset", onchange: (e: Event) => go((e.target as HTMLSelectElement).value, trainer ?? "") },
        datasets.map((d) => h("option", { value: d.id, selected: d.id === chosen?.id }, d.name)),
      );
      const trainerSelect = h(
        "select",
        { id: "lb-trainer", onchange: (e: Event) => go(chosen?.id, (e.target as HTMLSelectElement).value) },
        [h("option", { value: "", selected: !trainer }, "Any"), ...Object.entries(TRAINERS).map(([v, label]) => h("option", { value: v, selected: v === trainer }, label))],
      );
      const body = h("div");
      replace(ctx.main, h("h1", null, "Leaderboard"), h("div", { class: "toolbar" }, h("label", { for: "lb-dataset" }, "Dataset", select), h("label", { for: "lb-trainer" }, "Trainer", trainerSelect)), body);
      if (!chosen) {
        replace(body, h("p", { class: "muted" }, "No datasets yet."));
        return;
      }
      const { rows } = await get<{ rows: Row[] }>(`/v1/leaderboard?dataset=${encodeURIComponent(chosen.id)}${trainer ? `&trainer=${trainer}` : ""}`);
      if (!rows.length) {
        replace(body, h("p", { class: "card muted" }, "No succeeded trial", trainer ? ` trained by ${TRAINERS[trainer]}` : "", " on ", h("strong", null, chosen.name), " yet."));
        return;
      }
      // Which trainer trained each winner, once any was not trained by the default one.
      const byTrainer = rows.some((r) => r.trainer !== "tfjs");
      const scenarios = [...new Set(rows.map((r) => r.scenarioKey))];
      const plots: Array<() => void> = [];
      replace(
        body,
        scenarios.map((sc) => {
          const rs = rows.filter((r) => r.scenarioKey === sc).sort((a, b) => b.selectionScore - a.selectionScore);
          const metric = metricOf(rs[0]);
          const M = metric.toUpperCase();
          const best = rs[0];
          const plot = chartBox(`forest-${sc.replace(/\W/g, "_")}`, 70 + rs.length * 44, `test ${M} with 95% intervals per architecture, ${sc}`);
          plots.push(() => drawForest(plot, rs, metric));
          const withTest = rs.filter((r) => r.final?.metrics?.test);
          return h(
            "section",
            { class: "card", "data-scenario": sc },
            h("h2", null, `${chosen.name} · ${sc}`),
            h(
              "p",
              { class: "answer" },
              "Best: ",
              h("strong", null, best.architecture),
              byTrainer ? ` (${TRAINERS[best.trainer] ?? best.trainer})` : "",
              ` with learning rate ${lr(best.learningRate)} and augmentations ${subset(best.augmentations)} — ${best.decidedBy} ${num(best.score)}`,
              best.final?.metrics?.test ? `, test ${M} ${num(best.final.metrics.test.metrics[metric])}${interval(best.final.metrics.test, metric)}` : "",
              ".",
            ),
            h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { "data-table": "leaderboard" },
                h("thead", null, h("tr", null, ["Architecture", ...(byTrainer ? ["Trainer"] : []), "Learning rate", "Augmentations", decides(best), "Test AUC [95% CI]", "Test F1 [95% CI]", "Test n", "Trials"].map((t) => h("th", { scope: "col" }, t)))),
                h(
                  "tbody",
                  null,
                  rs.map((r) => {
                    const test = r.final?.metrics?.test;
                    return h(
                      "tr",
                      { class: r === best ? "winner" : null, "data-architecture": r.architecture },
                      h("td", null, r.architecture),
                      byTrainer ? h("td", { "data-cell": "trainer" }, TRAINERS[r.trainer] ?? r.trainer) : null,
                      h("td", { class: "num" }, lr(r.learningRate)),
                      h("td", { class: "wrap" }, subset(r.augmentations)),
                      h("td", { class: "num", "data-cell": "validation" }, num(r.score)),
                      h("td", { class: "num", "data-cell": "test-auc" }, test ? `${num(test.metrics.auc)}${interval(test, "auc")}` : "–"),
                      h("td", { class: "num", "data-cell": "test-f1" }, test ? `${num(test.metrics.f1)}${interval(test, "f1")}` : "–"),
                      h("td", { class: "num" }, test?.n != null ? String(test.n) : "–"),
                      h(
                        "td",
                        null,
                        h("a", { href: `#/trials/${r.trialId}` }, "search winner"),
                        r.final ? [" · ", h("a", { href: `#/trials/${r.final.trialId}` }, "final"), " ", statusBadge(r.final.status)] : [" · ", h("a", { href: `#/sweeps/${r.sweepId}` }, "no final training yet")],
                      ),
                    );
                  }),
                ),
              ),
            ),
            overlapNote(withTest, metric),
            h("h3", null, `Test ${M} with 95% bootstrap intervals (forest plot)`),
            withTest.length ? plot : h("p", { class: "muted" }, "No final training has been scored on the test set yet; start one from the sweep page."),
          );
        }),
      );
      for (const p of plots) if (p) p();
    },
  };
}

/** Whether the test set separates the best architecture from the next: do their intervals overlap? */
function overlapNote(rows: Row[], metric: string): HTMLElement | null {
  const tested = rows
    .map((r) => ({ r, t: r.final!.metrics!.test!, ci: r.final!.metrics!.test!.intervals?.[metric] }))
    .filter((x) => x.t.metrics[metric] != null && x.ci)
    .sort((a, b) => b.t.metrics[metric]! - a.t.metrics[metric]!);
  if (tested.length < 2) return null;
  const [a, b] = tested;
  const overlap = a.ci!.lower <= b.ci!.upper;
  return h(
    "p",
    { class: "muted", "data-field": "overlap" },
    overlap
      ? `On the test set, ${a.r.architecture} and ${b.r.architecture} are not separated: their 95% intervals of ${metric.toUpperCase()} overlap (${num(a.ci!.lower)}–${num(a.ci!.upper)} vs ${num(b.ci!.lower)}–${num(b.ci!.upper)}). A larger test set would be needed to tell them apart.`
      : `On the test set, ${a.r.architecture} is ahead of ${b.r.architecture}: their 95% intervals of ${metric.toUpperCase()} do not overlap.`,
  );
}

function interval(test: Test, metric: string): string {
  const ci = test.intervals?.[metric];
  return ci ? ` [${num(ci.lower)}, ${num(ci.upper)}]` : "";
}

function drawForest(host: ReturnType<typeof chartBox>, rows: Row[], metric: string): void {
  if (!host.isConnected) return;
  const withTest = rows.filter((r) => r.final?.metrics?.test?.metrics?.[metric] != null);
  const names = withTest.map((r) => r.architecture).reverse();
  const data = withTest.map((r) => {
    const t = r.final!.metrics!.test!;
    const ci = t.intervals?.[metric];
    return { value: [t.metrics[metric]!, names.indexOf(r.architecture), ci?.lower ?? t.metrics[metric]!, ci?.upper ?? t.metrics[metric]!], name: r.architecture };
  });
  draw(host, {
    tooltip: tooltip({ trigger: "item", formatter: (p: { name: string; value: number[] }) => `${p.name}\n${metric.toUpperCase()} ${num(p.value[0])} [${num(p.value[2])}, ${num(p.value[3])}]` }),
    grid: { left: 110, right: 24, top: 10, bottom: 36 },
    xAxis: { type: "value", name: `test ${metric.toUpperCase()}`, nameLocation: "middle", nameGap: 24, scale: true },
    yAxis: { type: "category", data: names },
    series: [
      {
        type: "custom",
        name: "95% interval",
        encode: { x: [0, 2, 3], y: 1 },
        renderItem: (_params: unknown, api: { value: (i: number) => number; coord: (p: number[]) => number[]; size: (p: number[]) => number[]; style: (s?: object) => object }) => {
          const y = api.value(1);
          const lo = api.coord([api.value(2), y]);
          const hi = api.coord([api.value(3), y]);
          const mid = api.coord([api.value(0), y]);
          const half = 7;
          const stroke = { stroke: "#1e293b", lineWidth: 2 };
          return {
            type: "group",
            children: [
              { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: stroke },
              { type: "line", shape: { x1: lo[0], y1: lo[1] - half, x2: lo[0], y2: lo[1] + half }, style: stroke },
              { type: "line", shape: { x1: hi[0], y1: hi[1] - half, x2: hi[0], y2: hi[1] + half }, style: stroke },
              { type: "rect", shape: { x: mid[0] - 6, y: mid[1] - 6, width: 12, height: 12 }, style: { fill: "#2563eb" } },
            ],
          };
        },
        data,
      },
    ],
  });
}
