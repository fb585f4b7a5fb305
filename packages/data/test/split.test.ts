import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assignSplits, SplitLeakageError, DIAGNOSES, type ManifestRow, type Split } from "../src/index.ts";
import { mulberry32 } from "../src/rng.ts";

/** Manifest-like rows without files: patients with 1–4 images, origins shared by 1–3 patients. */
function fakeRows(n: number, seed: number): ManifestRow[] {
  const r = mulberry32(seed);
  const rows: ManifestRow[] = [];
  let patient = 0;
  let origin = 0;
  while (rows.length < n) {
    origin++;
    for (let p = 0; p < 1 + Math.floor(r() * 3) && rows.length < n; p++) {
      patient++;
      const diagnosis = DIAGNOSES[Math.floor(r() * r() * DIAGNOSES.length)]!;
      const modality = r() < 0.5 ? "ct" : "radiograph";
      for (let k = 0; k < 1 + Math.floor(r() * 4) && rows.length < n; k++) {
        rows.push({
          row: rows.length + 2, patientId: `P${patient}`, fileName: `f${rows.length}.png`, modality, section: r() < 0.7 ? "axial" : "coronal",
          diagnosis, marks: false, split: null, lungPresence: "full", origin: `o${origin}`, suitable: true, meta: {},
        });
      }
    }
  }
  return rows;
}

function subsetsOf(rows: { split: Split }[], key: (r: ManifestRow) => string, all: ManifestRow[]): Map<string, Set<Split>> {
  const m = new Map<string, Set<Split>>();
  rows.forEach((r, i) => m.set(key(all[i]!), (m.get(key(all[i]!)) ?? new Set()).add(r.split)));
  return m;
}

describe("assignSplits", () => {
  it("keeps every patient and every origin in one subset, near 70/15/15 overall and per diagnosis", () => {
    const rows = fakeRows(2000, 11);
    const { rows: out, report } = assignSplits(rows, { seed: 3 });
    for (const sets of subsetsOf(out, (r) => r.patientId, rows).values()) expect(sets.size).toBe(1);
    for (const sets of subsetsOf(out, (r) => r.origin, rows).values()) expect(sets.size).toBe(1);
    expect(report.source).toBe("computed");
    expect(report.proportions.overall.train).toBeCloseTo(0.7, 1);
    expect(report.proportions.overall.valid).toBeCloseTo(0.15, 1);
    expect(report.proportions.overall.test).toBeCloseTo(0.15, 1);
    for (const [d, p] of Object.entries(report.proportions.byDiagnosis)) {
      expect(Math.abs(p.train - 0.7), d).toBeLessThan(0.06);
      expect(Math.abs(p.test - 0.15), d).toBeLessThan(0.05);
    }
  });

  it("groups never split, for any seed and dataset (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 5, max: 300 }), fc.integer(), (dataSeed, n, seed) => {
        const rows = fakeRows(n, dataSeed);
        const { rows: out } = assignSplits(rows, { seed });
        expect(out).toHaveLength(rows.length);
        for (const sets of subsetsOf(out, (r) => r.patientId, rows).values()) expect(sets.size).toBe(1);
        for (const sets of subsetsOf(out, (r) => r.origin, rows).values()) expect(sets.size).toBe(1);
      }),
      { numRuns: 40 },
    );
  });

  it("is reproducible per seed and differs between seeds", () => {
    const rows = fakeRows(600, 2);
    const a = assignSplits(rows, { seed: 1 }).rows.map((r) => r.split);
    expect(assignSplits(rows, { seed: 1 }).rows.map((r) => r.split)).toEqual(a);
    expect(assignSplits(rows, { seed: 2 }).rows.map((r) => r.split)).not.toEqual(a);
  });

  it("keeps a given split, pins the rest of its group to it, and fills the others", () => {
    const rows = fakeRows(300, 5);
    const pinnedPatient = rows[0]!.patientId;
    const given = rows.map((r, i) => (i === 0 ? { ...r, split: "test" as const } : r));
    const { rows: out, report } = assignSplits(given, { seed: 0 });
    expect(report.source).toBe("mixed");
    for (const r of out.filter((x) => x.patientId === pinnedPatient)) expect(r.split).toBe("test");
  });

  it("rejects a given split that puts one patient in two subsets, naming the patient", () => {
    const rows = fakeRows(20, 1).map((r) => ({ ...r, split: "train" as Split }));
    const leaky = rows.map((r, i) => (i === 1 && r.patientId === rows[0]!.patientId ? { ...r, split: "valid" as Split } : r));
    expect(leaky[1]!.patientId).toBe(leaky[0]!.patientId);
    expect(() => assignSplits(leaky)).toThrow(SplitLeakageError);
    expect(() => assignSplits(leaky)).toThrow(new RegExp(`patient ${leaky[0]!.patientId} in train and valid`));
  });

  it("rejects ratios that do not sum to one", () => {
    expect(() => assignSplits(fakeRows(10, 1), { ratios: [0.7, 0.2, 0.2] })).toThrow(/summing to 1/);
  });
});
