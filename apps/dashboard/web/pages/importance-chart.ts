/**
 * Hyperparameter importance of one architecture's search: the share of the selection metric's variance that the
 * learning rate and each augmentation (on/off) explain, each on its own (chance-corrected ε², one-way ANOVA:
 * @hypersweep/metrics' hyperparameterImportance), as horizontal bars, with a line saying what the number means
 * and how many finished trials it rests on. Below the minimum it draws no bars and says so.
 */
import { hyperparameterImportance, MIN_TRIALS_FOR_IMPORTANCE, type Importance } from "@hypersweep/metrics/importance";
import { chartBox, draw, tooltip, type ChartHost } from "../charts.ts";
import { h, setText } from "../dom.ts";
import { pct } from "../format.ts";
import { importanceTrials, type SweepSpecView, type TrialRow } from "./sweep-model.ts";

export class ImportanceChart {
  readonly el: HTMLElement;
  private readonly host: ChartHost;
  private readonly note: HTMLElement;
  private readonly label: string;

  constructor(architecture: string, slug: string, private readonly spec: SweepSpecView) {
    this.label = `validation ${spec.selectionMetric.toUpperCase()}`;
    this.host = chartBox(`importance-${slug}`, 230, `${architecture}: share of the ${this.label} variance each hyperparameter explains`);
    this.note = h("p", { class: "muted note", "data-importance-note": "" });
    this.el = h("div", null, h("h3", null, "Hyperparameter importance: variance explained"), this.note, this.host);
  }

  /** Recomputes from the finished search trials and redraws. */
  draw(search: TrialRow[]): Importance {
    const { trials, stoppedEarly: stopped } = importanceTrials(search);
    const leftOut = stopped ? ` ${stopped} trial${stopped === 1 ? "" : "s"} stopped early ${stopped === 1 ? "is" : "are"} left out (${stopped === 1 ? "its score stops" : "their scores stop"} at a rung).` : "";
    const imp = hyperparameterImportance(trials, this.spec.augmentations);
    this.host.dataset.trials = String(imp.n);
    if (!imp.enough) {
      setText(this.note, `Not enough trials: ${imp.reason}. Below ${MIN_TRIALS_FOR_IMPORTANCE} finished search trials any hyperparameter can look decisive by chance.${leftOut}`);
      draw(this.host, { title: { text: "not enough finished trials", left: "center", top: "middle", textStyle: { fontSize: 13, color: "#5b6472", fontWeight: "normal" } }, series: [] });
      return imp;
    }
    const shown = imp.factors.filter((f) => f.share != null);
    const left = imp.factors.filter((f) => f.share == null);
    setText(
      this.note,
      `Share of the variance of ${this.label} across ${imp.n} finished search trials that each hyperparameter explains on its own, less what chance alone would give (ε², one-way ANOVA; 0% = no more than chance). ` +
        `Subsets are sampled, so the hyperparameters overlap and the shares need not add up to 100%.` +
        (left.length ? ` Not measurable: ${left.map((f) => `${f.factor} (${f.note})`).join(", ")}.` : "") +
        leftOut,
    );
    const rows = [...shown].reverse(); // the first factor on top
    draw(this.host, {
      tooltip: tooltip({ trigger: "item", formatter: (p: { dataIndex: number }) => {
        const f = rows[p.dataIndex]!;
        return `${f.factor} (${f.levels} levels)\nε² ${f.epsilonSquared!.toFixed(3)} (shown as ${pct(f.share!)})\nη² ${f.etaSquared!.toFixed(3)} before the chance correction`;
      } }),
      grid: { left: 100, right: 50, top: 8, bottom: 28 },
      xAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: (v: number) => pct(v) } },
      yAxis: { type: "category", data: rows.map((f) => f.factor), axisLabel: { interval: 0 } },
      series: [{
        id: "importance",
        type: "bar",
        barMaxWidth: 22,
        color: "#2563eb",
        data: rows.map((f) => ({ name: f.factor, value: f.share })),
        label: { show: true, position: "right", formatter: (p: { value: number }) => pct(p.value) },
      }],
    });
    return imp;
  }
}
