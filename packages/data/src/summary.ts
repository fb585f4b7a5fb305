import { MAX_LISTED, type Problem } from "./errors.ts";
import { DIAGNOSES, MODALITIES, SECTIONS, SPLITS, type Split, type VersionRow } from "./schema.ts";
import type { SplitReport } from "./split.ts";

/** The Table-2-like summary stored with every dataset version (DatasetVersion.summary). */
export interface DatasetSummary {
  imageCount: number;
  patients: number;
  origins: number;
  byModality: Record<string, number>;
  bySection: Record<string, number>;
  byDiagnosis: Record<string, number>;
  bySplit: Record<Split, number>;
  /** The paper's Table 2: diagnosis → modality → section → count (with a per-modality total). */
  table: Record<string, Record<string, Record<string, number>>>;
  /** Figures 3–4: modality → diagnosis → split → count. */
  splitTable: Record<string, Record<string, Record<Split, number>>>;
  split: SplitReport;
  /** Rows left out because excludeBadRows was set, with the problems that excluded them (the first 100). */
  excluded: { row: number; fileName: string | null; problems: Problem[] }[];
  /** How many rows were left out in all (excluded lists only the first 100). */
  excludedCount: number;
}

const count = <T>(xs: readonly T[], f: (x: T) => string) => {
  const m: Record<string, number> = {};
  for (const x of xs) m[f(x)] = (m[f(x)] ?? 0) + 1;
  return m;
};

export function summarise(rows: readonly VersionRow[], split: SplitReport, excluded: DatasetSummary["excluded"]): DatasetSummary {
  const table: DatasetSummary["table"] = {};
  for (const d of DIAGNOSES) {
    table[d] = {};
    for (const m of MODALITIES) {
      const sel = rows.filter((r) => r.diagnosis === d && r.modality === m);
      table[d][m] = { ...Object.fromEntries(SECTIONS.map((s) => [s, sel.filter((r) => r.section === s).length])), total: sel.length };
    }
  }
  const splitTable: DatasetSummary["splitTable"] = {};
  for (const m of MODALITIES) {
    splitTable[m] = {};
    for (const d of DIAGNOSES) {
      const sel = rows.filter((r) => r.diagnosis === d && r.modality === m);
      splitTable[m][d] = Object.fromEntries(SPLITS.map((s) => [s, sel.filter((r) => r.split === s).length])) as Record<Split, number>;
    }
  }
  return {
    imageCount: rows.length,
    patients: new Set(rows.map((r) => r.patientId)).size,
    origins: new Set(rows.map((r) => r.origin)).size,
    byModality: count(rows, (r) => r.modality),
    bySection: count(rows, (r) => r.section),
    byDiagnosis: count(rows, (r) => r.diagnosis),
    bySplit: Object.fromEntries(SPLITS.map((s) => [s, rows.filter((r) => r.split === s).length])) as Record<Split, number>,
    table,
    splitTable,
    split,
    excluded: excluded.slice(0, MAX_LISTED),
    excludedCount: excluded.length,
  };
}
