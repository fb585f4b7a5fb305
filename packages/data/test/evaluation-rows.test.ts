import { describe, expect, it } from "vitest";
import { balanceWeights, seenImages, selectEvaluationRows, type ClassBalance } from "../src/evaluation-rows.ts";
import type { Diagnosis, Split, VersionRow } from "../src/schema.ts";

let n = 0;
function row(sha: string, split: Split, diagnosis: Diagnosis, extra: Partial<VersionRow> = {}): VersionRow {
  n++;
  return {
    row: n + 1, patientId: `P${n}`, fileName: `images/${n}.png`, modality: "ct", section: "axial", diagnosis, marks: false, split,
    lungPresence: "full", origin: `o${n}`, suitable: true, meta: {}, sha256: sha, ...extra,
  };
}

const binary = { modality: "ct" as const, task: "binary" as const, classes: ["other", "covid19"] };

describe("the rows an evaluation scores", () => {
  const trained = [row("a", "train", "covid19"), row("b", "train", "healthy"), row("c", "valid", "covid19"), row("d", "test", "healthy"),
    row("z", "train", "covid19", { lungPresence: "partial" })];
  const seen = seenImages(trained, binary);

  it("knows what the model saw: its scenario's training and validation rows, not its test rows nor filtered rows", () => {
    expect([...seen.training].sort()).toEqual(["a", "b"]);
    expect([...seen.validation]).toEqual(["c"]);
  });

  it("removes every test image the model saw, by hash, and counts training first, then validation", () => {
    const target = [row("a", "test", "covid19"), row("c", "test", "covid19"), row("d", "test", "healthy"), row("e", "test", "fungal"),
      row("e", "test", "fungal"), row("f", "train", "covid19"), row("z", "test", "covid19", { lungPresence: "partial" })];
    const s = selectEvaluationRows(target, { scenario: binary, seen });
    expect(s.images).toEqual(["d", "e"]);
    expect(s.labels).toEqual([0, 0]);
    expect(s.report.removed).toEqual({ training: 1, validation: 1, total: 2 });
    expect(s.report.duplicates).toBe(1);
    expect(s.report.testRows).toBe(5);
  });

  it("samples to a class balance reproducibly: the same seed gives the same rows, another seed others", () => {
    const target = Array.from({ length: 60 }, (_, i) => row(`t${i}`, "test", i % 4 === 0 ? "covid19" : "healthy"));
    const pick = (seed: number, balance: ClassBalance = "equal") => selectEvaluationRows(target, { scenario: binary, seen, classBalance: balance, seed });
    const a = pick(5);
    expect(a.report.scored).toEqual({ other: 15, covid19: 15 });
    expect(pick(5).images).toEqual(a.images);
    expect(pick(6).images).not.toEqual(a.images);
    expect(pick(6).report.scored).toEqual({ other: 15, covid19: 15 });
    const skewed = pick(1, { covid19: 1, other: 2 });
    expect(skewed.report.scored).toEqual({ other: 30, covid19: 15 });
    expect(skewed.report.balance).toEqual({ other: 2 / 3, covid19: 1 / 3 });
  });

  it("names a class the model does not have", () => {
    expect(() => balanceWeights({ viral: 1 }, binary.classes)).toThrow(/"viral" is not one of the model's classes/);
  });

  it("labels a multiclass model's rows by its classes and counts rows of classes it does not have", () => {
    const mc = { modality: "ct" as const, task: "multiclass" as const, classes: ["healthy", "covid19"] };
    const target = [row("m1", "test", "covid19"), row("m2", "test", "healthy"), row("m3", "test", "viral")];
    const s = selectEvaluationRows(target, { scenario: mc, seen: { training: new Set(), validation: new Set() } });
    expect(s.images).toEqual(["m1", "m2"]);
    expect(s.labels).toEqual([1, 0]);
    expect(s.report.otherClasses).toEqual({ viral: 1 });
  });
});
