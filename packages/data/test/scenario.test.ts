import { describe, expect, it } from "vitest";
import { resolveScenario, ScenarioError, type Diagnosis, type ManifestRow, type Split } from "../src/index.ts";

let n = 0;
function row(over: Partial<ManifestRow> & { diagnosis: Diagnosis; split: Split }): ManifestRow {
  n++;
  return { row: n + 1, patientId: `P${n}`, fileName: `f${n}.png`, modality: "ct", section: "axial", marks: false, lungPresence: "full", origin: "o", suitable: true, meta: {}, ...over };
}
const many = (k: number, over: Parameters<typeof row>[0]) => Array.from({ length: k }, () => row(over));

describe("resolveScenario", () => {
  const rows = [
    ...many(30, { diagnosis: "covid19", split: "train" }),
    ...many(6, { diagnosis: "covid19", split: "valid" }),
    ...many(6, { diagnosis: "covid19", split: "test" }),
    ...many(20, { diagnosis: "healthy", split: "train" }),
    ...many(5, { diagnosis: "healthy", split: "test" }),
    ...many(4, { diagnosis: "healthy", split: "train", lungPresence: "partial" }),
    ...many(3, { diagnosis: "viral", split: "train" }),
    ...many(10, { diagnosis: "fungal", split: "train", suitable: false }),
    ...many(50, { diagnosis: "bacterial", split: "train", modality: "radiograph" }),
  ];

  it("CT binary: drops lungs not fully visible, labels COVID-19 vs the rest, counts per split", () => {
    const s = resolveScenario(rows, { modality: "ct", task: "binary" });
    expect(s.key).toBe("ct/binary");
    expect(s.classes).toEqual(["other", "covid19"]);
    expect(s.positiveClass).toBe("covid19");
    expect(s.filteredOut).toBe(4);
    expect(s.counts).toEqual({ train: { other: 33, covid19: 30 }, valid: { other: 0, covid19: 6 }, test: { other: 5, covid19: 6 } });
    expect(s.warnings).toEqual(["class other has no valid images: its valid metrics are undefined"]);
    const trainLabels = s.rowIndices.train.map((i, k) => [rows[i]!.diagnosis === "covid19", s.labels.train[k] === 1]);
    expect(trainLabels.every(([a, b]) => a === b)).toBe(true);
  });

  it("multiclass drops a class under minPerClass and reports why, keeping the canonical label order", () => {
    const s = resolveScenario(rows, { modality: "ct", task: "multiclass", minPerClass: 5 });
    expect(s.classes).toEqual(["healthy", "covid19", "fungal"]);
    expect(s.dropped).toEqual([{ class: "viral", count: 3, reason: "3 image(s), fewer than minPerClass (5)" }]);
    expect(s.counts.train).toEqual({ healthy: 20, covid19: 30, fungal: 10 });
  });

  it("multiclass drops a class below the default 1% share, as the paper dropped CT viral pneumonia", () => {
    const big = [...rows, ...many(300, { diagnosis: "covid19", split: "train" })];
    const s = resolveScenario(big, { modality: "ct", task: "multiclass" });
    expect(s.dropped.map((d) => d.class)).toEqual(["viral"]);
  });

  it("applies the suitable filter and an explicit lung-presence filter", () => {
    const s = resolveScenario(rows, { modality: "ct", task: "multiclass", filters: { suitable: true, lungPresence: ["full", "partial"] }, minClassFraction: 0 });
    expect(s.classes).toEqual(["healthy", "covid19", "viral"]);
    expect(s.counts.train.healthy).toBe(24);
  });

  it("uses the given classes as the label order and drops other classes", () => {
    const s = resolveScenario(rows, { modality: "ct", task: "multiclass", classes: ["fungal", "covid19"] });
    expect(s.classes).toEqual(["fungal", "covid19"]);
    expect(s.counts.train).toEqual({ fungal: 10, covid19: 30 });
    expect(s.dropped.map((d) => d.class).sort()).toEqual(["healthy", "viral"]);
  });

  it("fails with a reason when fewer than two classes remain", () => {
    expect(() => resolveScenario(rows, { modality: "radiograph", task: "binary" })).toThrow(ScenarioError);
    expect(() => resolveScenario(rows, { modality: "radiograph", task: "binary" })).toThrow(/covid19: no images/);
  });
});
