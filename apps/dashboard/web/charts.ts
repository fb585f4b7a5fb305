/**
 * Charts are Apache ECharts (tree-shaken: only the chart types and components used here). Every chart lives in
 * a container marked `data-chart="<name>"`; once ECharts has drawn it the container gets `data-drawn`, and its
 * instance is reachable as `container.hsChart` (tests and the benchmark read the option from there).
 * Tooltips are drawn on the canvas (richText), never as HTML, so no data string is ever parsed as markup.
 */
import * as echarts from "echarts/core";
import { BarChart, CustomChart, HeatmapChart, LineChart, ParallelChart, ScatterChart } from "echarts/charts";
import { GridComponent, LegendComponent, ParallelComponent, TitleComponent, TooltipComponent, VisualMapComponent, MarkLineComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { h } from "./dom.ts";

echarts.use([BarChart, CustomChart, HeatmapChart, LineChart, ParallelChart, ScatterChart, GridComponent, LegendComponent, ParallelComponent, TitleComponent, TooltipComponent, VisualMapComponent, MarkLineComponent, CanvasRenderer]);

export type EChartsOption = echarts.EChartsCoreOption;
export type Chart = echarts.ECharts;
export interface ChartHost extends HTMLDivElement {
  hsChart?: Chart;
}

export const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

const live = new Set<Chart>();
const withOption = new WeakSet<ChartHost>();
let observer: ResizeObserver | null = null;

/** A chart container of the given name and height (CSS px). The chart is created by `draw`. */
export function chartBox(name: string, height = 300, label?: string): ChartHost {
  return h("div", { class: "chart", "data-chart": name, role: "img", "aria-label": label ?? name, style: `height:${height}px` }) as ChartHost;
}

function create(host: ChartHost, width: number, height: number): Chart {
  // Explicit sizes: ECharts would otherwise read the layout once per chart (a forced reflow of the whole page
  // each time, which costs seconds next to a 1,000-row grid).
  const chart = echarts.init(host, null, { renderer: "canvas", width: Math.max(1, width), height: Math.max(1, height) });
  host.hsChart = chart;
  live.add(chart);
  // Drawn means drawn with an option: a resize also "finishes" a chart that has none yet.
  chart.on("finished", () => withOption.has(host) && host.setAttribute("data-drawn", ""));
  observer ??= new ResizeObserver((entries) => {
    for (const e of entries) {
      const c = (e.target as ChartHost).hsChart;
      const { width: w, height: h } = e.contentRect;
      // The observer reports every chart once when it starts (fractional sizes): only a real change redraws.
      if (c && w > 0 && (Math.abs(w - c.getWidth()) > 1 || Math.abs(h - c.getHeight()) > 1)) c.resize({ width: Math.floor(w), height: Math.floor(h) });
    }
  });
  observer.observe(host);
  return chart;
}

/** Creates the charts of every container under `root` at once: their sizes are read in one layout pass. */
export function initCharts(root: Element): void {
  const hosts: ChartHost[] = [];
  root.querySelectorAll<ChartHost>("[data-chart]").forEach((host) => {
    if (!host.hsChart) hosts.push(host);
  });
  const sizes = hosts.map((host) => [host.clientWidth, host.clientHeight]);
  hosts.forEach((host, i) => create(host, sizes[i][0], sizes[i][1]));
}

/** Draws (or redraws) `option` into the container; `notMerge` replaces the whole option. */
export function draw(host: ChartHost, option: EChartsOption, notMerge = true): Chart {
  const chart = host.hsChart ?? create(host, host.clientWidth, host.clientHeight);
  withOption.add(host);
  chart.setOption({ animation: false, textStyle: { fontFamily: "inherit" }, ...option }, { notMerge, lazyUpdate: false });
  return chart;
}

/** Disposes every chart inside `root` (when a page is left). */
export function disposeCharts(root: Element): void {
  root.querySelectorAll<ChartHost>("[data-chart]").forEach((host) => {
    if (!host.hsChart) return;
    observer?.unobserve(host);
    live.delete(host.hsChart);
    host.hsChart.dispose();
    host.hsChart = undefined;
  });
}

export const tooltip = (extra: Record<string, unknown> = {}) => ({ renderMode: "richText", confine: true, ...extra });
