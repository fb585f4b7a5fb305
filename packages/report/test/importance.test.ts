/** The report's hyperparameter importance section, from hand-computed values (see packages/metrics' importance test). */
import { describe, expect, it } from "vitest";
import { buildReport, toHtml, toMarkdown, type ReportTrialInput } from "../src/index.ts";

const sweep = { id: "s1", name: "imp", status: "succeeded", datasetId: "d1", scenarioKey: "ct/binary", scenario: { modality: "ct", task: "binary", classes: ["other", "covid19"], positiveClass: "covid19" }, spec: { selectionMetric: "auc", augmentations: ["rotation", "hflip"] }, seed: 1, preset: "data-stock-2020", createdAt: "2026-12-01T00:00:00Z", finishedAt: null };
let n = 0;
const t = (architecture: string, learningRate: number, augmentations: string[], selectionScore: number, extra: Partial<ReportTrialInput> = {}): ReportTrialInput => ({
  id: `t${n}`, position: n++, architecture, learningRate, augmentations, stage: "search", status: "succeeded", bestEpoch: 3, epochsDone: 3, valAuc: selectionScore, valF1: 0.5, valLoss: 0.4, metrics: null, error: null, selectionScore, ...extra,
});

describe("report: hyperparameter importance", () => {
  // resnet18: lr explains ε² = 0.125 / 0.175 = 71%, rotation 1/3 = 33%, hflip never on (not varied).
  const trials = [
    t("resnet18", 0.1, ["rotation"], 0.9), t("resnet18", 0.1, [], 0.7), t("resnet18", 0.1, ["rotation"], 0.8),
    t("resnet18", 0.01, [], 0.5), t("resnet18", 0.01, ["rotation"], 0.6), t("resnet18", 0.01, [], 0.4),
    // A trial stopped early is left out (with it, resnet18 would have 7 trials and other shares).
    t("resnet18", 0.01, ["hflip"], 0.1, { stoppedEarlyAt: 3 }),
    // small_cnn: 3 finished trials only.
    t("small_cnn", 0.1, [], 0.6), t("small_cnn", 0.01, ["hflip"], 0.7), t("small_cnn", 0.01, [], 0.8), t("small_cnn", 0.1, ["rotation"], 0.5, { status: "running", selectionScore: null }),
  ];
  const report = buildReport(sweep, trials);

  it("gives each architecture's shares, leaves out trials stopped early, and says when there are too few trials", () => {
    const [resnet, small] = report.importance;
    expect(resnet).toMatchObject({ architecture: "resnet18", n: 6, enough: true, stoppedEarly: 1 });
    expect(resnet.factors.map((f) => [f.factor, f.share == null ? f.note : +f.share.toFixed(6)])).toEqual([["learning rate", +(0.125 / 0.175).toFixed(6)], ["rotation", +(1 / 3).toFixed(6)], ["hflip", "not varied"]]);
    expect(small).toMatchObject({ architecture: "small_cnn", n: 3, enough: false, reason: "3 finished trials; at least 6 are needed" });
  });

  it("renders them as a table in Markdown and HTML", () => {
    const md = toMarkdown(report);
    expect(md).toContain("## Hyperparameter importance");
    expect(md).toContain("| Hyperparameter | resnet18 (6 trials) | small_cnn (3 trials: not enough) |");
    expect(md).toContain("| learning rate | 71% | — |");
    expect(md).toContain("| rotation | 33% | — |");
    expect(md).toContain("| hflip | not varied | — |");
    expect(md).toContain("resnet18: 1 trial(s) stopped early left out");
    const html = toHtml(report);
    expect(html).toContain("<h2>Hyperparameter importance</h2>");
    expect(html).toMatch(/<td class="l">learning rate<\/td><td>71%<\/td><td>—<\/td>/);
  });
});
