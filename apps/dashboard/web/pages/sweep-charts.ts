/**
 * Charts of one architecture's search: the selection metric as a learning rate × augmentation subset heatmap,
 * the effect of each augmentation per learning rate, every learning curve overlaid (the winner emphasised), and
 * parallel coordinates. Live updates change only the series that changed (merged by series id).
 */
import { chartBox, draw, PALETTE, tooltip, type ChartHost } from "../charts.ts";
import { h } from "../dom.ts";
import { lr, num, subset } from "../format.ts";
import { ImportanceChart } from "./importance-chart.ts";
import { selectionCurve, shownScore, winnerOf, type Curve, type SweepSpecView, type TrialRow } from "./sweep-model.ts";

export type CurveMetric = "selection" | "valLoss" | "trainLoss";

const slug = (s: string) => s.replace(/[^\w-]/g, "_");

export class ArchitectureCharts {
  readonly el: HTMLElement;
  private readonly heat: ChartHost;
  private readonly effect: ChartHost;
  private readonly curves: ChartHost;
  private readonly parallel: ChartHost;
  private readonly importance: ImportanceChart;
  private metric: CurveMetric = "selection";
  private winnerId: string | null = null;
  private readonly metricLabel: string;

  constructor(
    readonly architecture: string,
    private readonly spec: SweepSpecView,
    private readonly rows: () => TrialRow[],
    private readonly curveOf: (id: string) => Curve | undefined,
  ) {
    const a = slug(architecture);
    this.metricLabel = `validation ${spec.selectionMetric.toUpperCase()}`;
    this.heat = chartBox(`heatmap-${a}`, 280, `${architecture}: ${this.metricLabel} by learning rate and augmentation subset`);
    this.effect = chartBox(`effect-${a}`, 280, `${architecture}: effect of each augmentation per learning rate`);
    this.curves = chartBox(`curves-${a}`, 320, `${architecture}: learning curves of every trial`);
    this.parallel = chartBox(`parallel-${a}`, 300, `${architecture}: parallel coordinates`);
    this.importance = new ImportanceChart(architecture, a, spec);
    const pick = h(
      "select",
      { id: `curve-metric-${a}`, onchange: (e: Event) => ((this.metric = (e.target as HTMLSelectElement).value as CurveMetric), this.drawCurves()) },
      h("option", { value: "selection" }, this.metricLabel),
      h("option", { value: "valLoss" }, "validation loss"),
      h("option", { value: "trainLoss" }, "training loss"),
    );
    this.el = h(
      "section",
      { class: "card arch", "data-architecture": architecture },
      h("h2", null, architecture),
      h(
        "div",
        { class: "grid2" },
        h("div", null, h("h3", null, `${this.metricLabel}: learning rate × augmentation subset`), this.heat),
        this.importance.el,
        h("div", null, h("h3", null, "Augmentation effect: mean with − without, per learning rate"), this.effect),
        h("div", null, h("h3", null, "Parallel coordinates"), this.parallel),
        h("div", { class: "wide" }, h("h3", null, "Learning curves (search trials; hover to pick one out)"), h("div", { class: "toolbar" }, h("label", { for: `curve-metric-${a}` }, "Metric", pick)), this.curves),
      ),
    );
  }

  private search(): TrialRow[] {
    return this.rows().filter((r) => r.stage === "search");
  }

  /** The charts drawn from trial scores alone (the learning curves need the epochs). */
  drawScores(): void {
    this.importance.draw(this.search());
    this.drawHeatmap();
    this.drawEffect();
    this.drawParallel();
  }

  /** After trials finished: every chart that depends on scores. */
  scoresChanged(): void {
    this.importance.draw(this.search());
    this.drawHeatmap();
    this.drawEffect();
    this.drawParallel();
    const w = winnerOf(this.search(), this.spec.selectionMetric)?.id ?? null;
    if (w !== this.winnerId) this.drawCurves();
  }

  private get lowerIsBetter(): boolean {
    return this.spec.selectionMetric === "valLoss";
  }

  private shown(t: TrialRow): number | null {
    return shownScore(t, this.spec.selectionMetric);
  }

  drawHeatmap(): void {
    const trials = this.search();
    const subsets = [...new Set(trials.map((t) => subset(t.augmentations)))].sort((x, y) => x.split(" + ").length - y.split(" + ").length || x.localeCompare(y));
    const rates = [...new Set(trials.map((t) => t.learningRate))].sort((x, y) => x - y);
    const data = trials.map((t) => ({ value: [subsets.indexOf(subset(t.augmentations)), rates.indexOf(t.learningRate), this.shown(t) ?? "-"], trialId: t.id }));
    const scores = trials.map((t) => this.shown(t)).filter((s): s is number => s != null);
    // Darker is better: a loss is darker where it is low.
    const ramp = this.lowerIsBetter ? ["#1d4ed8", "#eff6ff"] : ["#eff6ff", "#1d4ed8"];
    draw(this.heat, {
      tooltip: tooltip({ formatter: (p: { data: { value: [number, number, number | string] } }) => `lr ${lr(rates[p.data.value[1]])}\n${subsets[p.data.value[0]]}\n${this.metricLabel}: ${typeof p.data.value[2] === "number" ? num(p.data.value[2]) : "not yet"}` }),
      grid: { left: 70, right: 16, top: 10, bottom: 95 },
      xAxis: { type: "category", data: subsets, axisLabel: { rotate: 35, fontSize: 10, interval: 0, width: 110, overflow: "truncate" }, splitArea: { show: true } },
      yAxis: { type: "category", data: rates.map(lr), name: "learning rate", nameLocation: "middle", nameGap: 55, splitArea: { show: true } },
      visualMap: { min: scores.length ? Math.min(...scores) : 0, max: scores.length ? Math.max(...scores) : 1, calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, itemWidth: 10, text: ["high", "low"], inRange: { color: ramp }, show: scores.length > 0 },
      series: [{ id: "scores", type: "heatmap", data, label: { show: subsets.length <= 12, formatter: (p: { data: { value: [number, number, number | string] } }) => (typeof p.data.value[2] === "number" ? p.data.value[2].toFixed(2) : "") , fontSize: 10 }, emphasis: { itemStyle: { borderColor: "#111", borderWidth: 1 } } }],
    });
  }

  drawEffect(): void {
    const trials = this.search().filter((t) => t.selectionScore != null);
    const rates = [...new Set(this.search().map((t) => t.learningRate))].sort((x, y) => x - y);
    const augs = this.spec.augmentations;
    const detail: string[][] = [];
    const series = rates.map((rate, ri) => ({
      name: `lr ${lr(rate)}`,
      type: "bar",
      color: PALETTE[ri % PALETTE.length],
      data: augs.map((aug, ai) => {
        const at = trials.filter((t) => t.learningRate === rate);
        const mean = (xs: TrialRow[]) => (xs.length ? xs.reduce((s, t) => s + this.shown(t)!, 0) / xs.length : null);
        const withIt = mean(at.filter((t) => t.augmentations.includes(aug)));
        const without = mean(at.filter((t) => !t.augmentations.includes(aug)));
        (detail[ri] ??= [])[ai] = `with ${num(withIt)} (n=${at.filter((t) => t.augmentations.includes(aug)).length}), without ${num(without)} (n=${at.filter((t) => !t.augmentations.includes(aug)).length})`;
        return withIt == null || without == null ? "-" : +(withIt - without).toFixed(4);
      }),
    }));
    draw(this.effect, {
      legend: { top: 0, type: "scroll" },
      tooltip: tooltip({ trigger: "item", formatter: (p: { seriesIndex: number; dataIndex: number; seriesName: string; name: string; value: number | string }) => `${p.name}, ${p.seriesName}\n${detail[p.seriesIndex]?.[p.dataIndex] ?? ""}\neffect ${typeof p.value === "number" ? p.value.toFixed(3) : "–"}` }),
      grid: { left: 55, right: 10, top: 40, bottom: 40 },
      xAxis: { type: "category", data: augs, axisLabel: { interval: 0, fontSize: 11 } },
      yAxis: { type: "value", name: `Δ ${this.spec.selectionMetric.toUpperCase()}`, nameTextStyle: { align: "left" } },
      series,
    });
  }

  private values(c: Curve | undefined): Array<[number, number | null]> {
    if (!c) return [];
    const ys = this.metric === "valLoss" ? c.valLoss : this.metric === "trainLoss" ? c.trainLoss : selectionCurve(c, this.spec.selectionMetric);
    return c.epoch.map((e, i) => [e, ys[i]]);
  }

  private curveSeries(t: TrialRow, winner: boolean) {
    return {
      id: t.id,
      name: `#${t.position} lr ${lr(t.learningRate)} · ${subset(t.augmentations)}`,
      type: "line",
      showSymbol: false,
      symbol: "none",
      sampling: undefined,
      connectNulls: false,
      z: winner ? 10 : 2,
      lineStyle: winner ? { width: 3, color: "#dc2626", opacity: 1 } : { width: 1, color: "#64748b", opacity: 0.45 },
      itemStyle: { color: winner ? "#dc2626" : "#64748b" },
      emphasis: { focus: "series", lineStyle: { width: 3, opacity: 1 } },
      blur: { lineStyle: { opacity: 0.08 } },
      data: this.values(this.curveOf(t.id)),
    };
  }

  drawCurves(): void {
    const trials = this.search();
    const winner = winnerOf(trials, this.spec.selectionMetric);
    this.winnerId = winner?.id ?? null;
    draw(this.curves, {
      tooltip: tooltip({ trigger: "item", formatter: (p: { seriesName: string; value: [number, number] }) => `${p.seriesName}\nepoch ${p.value[0]}: ${num(p.value[1])}` }),
      grid: { left: 55, right: 16, top: 24, bottom: 40 },
      xAxis: { type: "value", name: "epoch", nameLocation: "middle", nameGap: 26, min: 1, max: this.spec.searchEpochs, minInterval: 1 },
      yAxis: { type: "value", scale: true },
      title: winner ? { text: `winner: #${winner.position} (${num(this.shown(winner))})`, right: 10, top: 0, textStyle: { fontSize: 12, color: "#dc2626" } } : undefined,
      series: trials.map((t) => this.curveSeries(t, t.id === this.winnerId)),
    });
  }

  /** Appends the new epochs of these trials to their series (no full redraw). */
  curvesChanged(ids: string[]): void {
    const chart = this.curves.hsChart;
    // Only search trials have a series here (a final training's curves are on its own page).
    const known = new Set(this.search().map((t) => t.id));
    const mine = ids.filter((id) => known.has(id));
    if (!chart || !mine.length) return;
    chart.setOption({ series: mine.map((id) => ({ id, data: this.values(this.curveOf(id)) })) }, { lazyUpdate: false });
  }

  drawParallel(): void {
    const trials = this.search().filter((t) => t.selectionScore != null);
    const augs = this.spec.augmentations;
    const rates = [...new Set(this.search().map((t) => t.learningRate))].sort((x, y) => x - y).map(lr);
    const scores = trials.map((t) => this.shown(t)!);
    draw(this.parallel, {
      parallel: { left: 50, right: 60, top: 30, bottom: 40 },
      parallelAxis: [
        { dim: 0, name: "learning rate", type: "category", data: rates },
        ...augs.map((a, i) => ({ dim: i + 1, name: a, type: "category", data: ["off", "on"], nameTextStyle: { fontSize: 10 } })),
        { dim: augs.length + 1, name: this.spec.selectionMetric.toUpperCase(), type: "value", scale: true },
      ],
      visualMap: { show: false, dimension: augs.length + 1, min: scores.length ? Math.min(...scores) : 0, max: scores.length ? Math.max(...scores) : 1, inRange: { color: this.lowerIsBetter ? ["#1d4ed8", "#cbd5e1"] : ["#cbd5e1", "#1d4ed8"] } },
      series: [{ id: "trials", type: "parallel", lineStyle: { width: 1.5, opacity: 0.7 }, data: trials.map((t) => [lr(t.learningRate), ...augs.map((a) => (t.augmentations.includes(a) ? "on" : "off")), this.shown(t)]) }],
    });
  }
}
