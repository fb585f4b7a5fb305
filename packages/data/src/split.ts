/**
 * Grouped, stratified 70/15/15 splits (the paper's protocol).
 *
 * Invariants of `assignSplits`:
 * - every image of one patient, and every image of one origin, lands in one subset: patients and origins are
 *   nodes of a union-find, each image joins its patient to its origin, and a connected group moves whole;
 * - a split given by the manifest is kept; it pins its whole group (a group pinned to two subsets is leakage);
 * - the same rows, ratios and seed always give the same assignment.
 */
import { SplitLeakageError } from "./errors.ts";
import { deriveSeed, mulberry32, shuffleInPlace } from "./rng.ts";
import { SPLITS, type ManifestRow, type Split } from "./schema.ts";

export interface SplitOptions {
  /** Seed for tie-breaking among equally sized groups. @defaultValue 0 */
  seed?: number;
  /** Target proportions of train, valid, test. @defaultValue [0.7, 0.15, 0.15] */
  ratios?: [number, number, number];
}

export interface SplitReport {
  source: "manifest" | "computed" | "mixed";
  seed: number;
  ratios: [number, number, number];
  groups: number;
  /** Achieved share of each split, overall and per diagnosis (and per section). */
  proportions: {
    overall: Record<Split, number>;
    byDiagnosis: Record<string, Record<Split, number>>;
    bySection: Record<string, Record<Split, number>>;
  };
}

export interface SplitResult<R extends ManifestRow> {
  rows: (R & { split: Split })[];
  report: SplitReport;
}

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x);
    if (p === undefined) {
      this.parent.set(x, x);
      return x;
    }
    while (p !== x) {
      const gp = this.parent.get(p)!;
      this.parent.set(x, gp);
      x = p;
      p = this.parent.get(x)!;
    }
    return x;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
}

/** Row indices grouped by connected patient/origin components (and by shared image content when known). */
export function groupRows(rows: readonly ManifestRow[]): number[][] {
  const uf = new UnionFind();
  rows.forEach((r) => {
    uf.union(`p:${r.patientId}`, `o:${r.origin}`);
    if (r.sha256) uf.union(`p:${r.patientId}`, `h:${r.sha256}`);
  });
  const groups = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const root = uf.find(`p:${r.patientId}`);
    const g = groups.get(root);
    if (g) g.push(i);
    else groups.set(root, [i]);
  });
  // Order by first row so the result does not depend on Map internals.
  return [...groups.values()].sort((a, b) => a[0]! - b[0]!);
}

/** Patients whose images the given splits put in more than one subset. */
export function findPatientLeakage(rows: readonly ManifestRow[]): { patientId: string; splits: Split[]; rows: number[] }[] {
  const byPatient = new Map<string, { splits: Set<Split>; rows: number[] }>();
  for (const r of rows) {
    if (!r.split) continue;
    const e = byPatient.get(r.patientId) ?? { splits: new Set<Split>(), rows: [] };
    e.splits.add(r.split);
    e.rows.push(r.row);
    byPatient.set(r.patientId, e);
  }
  return [...byPatient.entries()]
    .filter(([, e]) => e.splits.size > 1)
    .map(([patientId, e]) => ({ patientId, splits: SPLITS.filter((s) => e.splits.has(s)), rows: e.rows }));
}

function strataKeys(r: ManifestRow): string[] {
  return ["all", `m:${r.modality}`, `d:${r.diagnosis}`, `s:${r.section}`, `md:${r.modality}/${r.diagnosis}`, `ms:${r.modality}/${r.section}`];
}

/**
 * Assigns every row without a split to train/valid/test. Throws SplitLeakageError naming the patients when the
 * given splits put one patient in two subsets.
 */
export function assignSplits<R extends ManifestRow>(rows: readonly R[], opts: SplitOptions = {}): SplitResult<R> {
  const seed = opts.seed ?? 0;
  const ratios = opts.ratios ?? [0.7, 0.15, 0.15];
  validateRatios(ratios);
  const leaks = findPatientLeakage(rows);
  if (leaks.length > 0) {
    const names = leaks.map((l) => `patient ${l.patientId} in ${l.splits.join(" and ")} (rows ${l.rows.join(", ")})`);
    throw new SplitLeakageError(leaks.map((l) => l.patientId), `the given split leaks ${leaks.length} patient(s) across subsets: ${names.join("; ")}`);
  }
  const groups = groupRows(rows);
  const totals = new Map<string, number>();
  for (const r of rows) for (const k of strataKeys(r)) totals.set(k, (totals.get(k) ?? 0) + 1);
  const counts = SPLITS.map(() => new Map<string, number>());
  const assigned: Split[] = new Array(rows.length);
  const free: number[][] = [];
  for (const g of groups) {
    const pinned = g.map((i) => rows[i]!.split).find((s): s is Split => s !== null);
    if (pinned) place(g, SPLITS.indexOf(pinned));
    else free.push(g);
  }
  // Largest groups first (they are the hardest to fit); a seeded shuffle breaks ties reproducibly.
  shuffleInPlace(free, mulberry32(deriveSeed("split", seed)));
  free.sort((a, b) => b.length - a.length);
  for (const g of free) {
    const keys = groupKeys(g);
    let best = 0;
    let bestCost = Infinity;
    for (let s = 0; s < SPLITS.length; s++) {
      const c = deltaCost(keys, s);
      if (c < bestCost - 1e-12) [best, bestCost] = [s, c];
    }
    place(g, best);
  }

  function place(g: number[], s: number): void {
    for (const i of g) {
      assigned[i] = SPLITS[s]!;
      for (const k of strataKeys(rows[i]!)) counts[s]!.set(k, (counts[s]!.get(k) ?? 0) + 1);
    }
  }
  function groupKeys(g: number[]): Map<string, number> {
    const m = new Map<string, number>();
    for (const i of g) for (const k of strataKeys(rows[i]!)) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  }
  /**
   * Change in squared relative deviation from the targets if the group goes to subset s. Deviations are
   * relative to each stratum's size, so a rare class weighs as much as a common one; the overall size weighs 4×.
   */
  function deltaCost(keys: Map<string, number>, s: number): number {
    let d = 0;
    for (const [k, n] of keys) {
      const total = totals.get(k)!;
      const target = ratios[s]! * total;
      const cur = counts[s]!.get(k) ?? 0;
      const w = k === "all" ? 4 : 1;
      d += (w * ((cur + n - target) ** 2 - (cur - target) ** 2)) / (total * total);
    }
    return d;
  }

  const out = rows.map((r, i) => ({ ...r, split: assigned[i]! }));
  const given = rows.filter((r) => r.split !== null).length;
  const source = given === rows.length ? "manifest" : given === 0 ? "computed" : "mixed";
  return { rows: out, report: { source, seed, ratios, groups: groups.length, proportions: splitProportions(out) } };
}

function validateRatios(r: [number, number, number]): void {
  const sum = r[0] + r[1] + r[2];
  if (r.some((x) => !(x >= 0)) || Math.abs(sum - 1) > 1e-6) {
    throw new RangeError(`ratios must be three non-negative numbers summing to 1, got [${r.join(", ")}]`);
  }
}

/** Share of each split overall, per diagnosis and per section. */
export function splitProportions(rows: readonly { split: Split; diagnosis: string; section: string }[]): SplitReport["proportions"] {
  const share = (sel: readonly { split: Split }[]) =>
    Object.fromEntries(SPLITS.map((s) => [s, sel.length ? round4(sel.filter((r) => r.split === s).length / sel.length) : 0])) as Record<Split, number>;
  const by = (key: "diagnosis" | "section") => {
    const vals = [...new Set(rows.map((r) => r[key]))].sort();
    return Object.fromEntries(vals.map((v) => [v, share(rows.filter((r) => r[key] === v))]));
  };
  return { overall: share(rows), byDiagnosis: by("diagnosis"), bySection: by("section") };
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
