/**
 * Scenarios: which rows and which classes a sweep trains on (paper section 3.1). Pure: the API resolves a
 * scenario when a sweep is created and stores it; the trainer resolves the same one from the same rows.
 */
import { ScenarioError } from "./errors.ts";
import { DIAGNOSES, LUNG_PRESENCE, SPLITS, type LungPresence, type ManifestRow, type Modality, type Split } from "./schema.ts";

export type ScenarioTask = "binary" | "multiclass";

export interface ScenarioFilters {
  /** Lung presence kept. @defaultValue ["full"] for CT (the paper drops CT without fully visible lungs), all for radiographs */
  lungPresence?: LungPresence[];
  /** Keep only rows with this `suitable` value. @defaultValue undefined (no filter: the paper used all radiographs) */
  suitable?: boolean;
}

export interface ScenarioOptions {
  modality: Modality;
  task: ScenarioTask;
  filters?: ScenarioFilters;
  /**
   * A class with fewer images than this (after filters, all splits) is dropped. Binary tasks too: there dropping
   * either class leaves one, so the scenario is refused naming the class and its count. @defaultValue 0
   */
  minPerClass?: number;
  /**
   * Multiclass: a class with less than this share of the scenario's images is dropped. The paper dropped CT viral
   * pneumonia (<1%) and radiograph fungal pneumonia and ARDS (<0.3%). @defaultValue 0.01
   */
  minClassFraction?: number;
  /**
   * Use exactly these classes in this label order (e.g. the classes stored with a sweep). Rows of other classes
   * are dropped; minPerClass/minClassFraction are not applied.
   */
  classes?: readonly string[];
}

export interface ResolvedScenario {
  /** e.g. "ct/binary": what best-config queries group by. */
  key: string;
  modality: Modality;
  task: ScenarioTask;
  /** Label order. Binary: ["other", "covid19"]. */
  classes: string[];
  positiveClass: "covid19";
  filters: { lungPresence: LungPresence[]; suitable?: boolean };
  minPerClass: number;
  counts: Record<Split, Record<string, number>>;
  dropped: { class: string; count: number; reason: string }[];
  /** Indices into the input rows, per split, in input order. */
  rowIndices: Record<Split, number[]>;
  /** Label (index into classes) of each entry of rowIndices. */
  labels: Record<Split, number[]>;
  /** Rows removed by the filters (not by class dropping). */
  filteredOut: number;
  /** Things a user should know before training, e.g. a class with no validation or test images. */
  warnings: string[];
}

export const BINARY_CLASSES = ["other", "covid19"] as const;

export function defaultFilters(modality: Modality): { lungPresence: LungPresence[] } {
  return { lungPresence: modality === "ct" ? ["full"] : [...LUNG_PRESENCE] };
}

const labelName = (task: ScenarioTask, diagnosis: string) => (task === "binary" ? (diagnosis === "covid19" ? "covid19" : "other") : diagnosis);

/** Resolves a scenario over rows that all have a split. Throws ScenarioError when fewer than two classes remain. */
export function resolveScenario(rows: readonly (ManifestRow & { split: Split | null })[], opts: ScenarioOptions): ResolvedScenario {
  const filters = { ...defaultFilters(opts.modality), ...stripUndefined(opts.filters ?? {}) };
  const minPerClass = opts.minPerClass ?? 0;
  const minFraction = opts.minClassFraction ?? 0.01;
  const kept: number[] = [];
  let filteredOut = 0;
  rows.forEach((r, i) => {
    if (r.modality !== opts.modality) return;
    if (!r.split) throw new ScenarioError(`row ${r.row} has no split: resolve scenarios on imported rows`);
    const ok = filters.lungPresence.includes(r.lungPresence) && (filters.suitable === undefined || r.suitable === filters.suitable);
    if (ok) kept.push(i);
    else filteredOut++;
  });
  const totals = new Map<string, number>();
  const trainTotals = new Map<string, number>();
  for (const i of kept) {
    const l = labelName(opts.task, rows[i]!.diagnosis);
    totals.set(l, (totals.get(l) ?? 0) + 1);
    if (rows[i]!.split === "train") trainTotals.set(l, (trainTotals.get(l) ?? 0) + 1);
  }
  const dropped: ResolvedScenario["dropped"] = [];
  const candidates = opts.task === "binary" ? [...BINARY_CLASSES] : DIAGNOSES.filter((d) => totals.has(d));
  let classes: string[];
  if (opts.classes) {
    classes = [...opts.classes];
    for (const c of classes) if (!candidates.includes(c as never) && !(opts.task === "multiclass" && (DIAGNOSES as readonly string[]).includes(c))) {
      throw new ScenarioError(`class ${JSON.stringify(c)} is not a ${opts.task} label (expected one of ${(opts.task === "binary" ? BINARY_CLASSES : DIAGNOSES).join(", ")})`);
    }
    for (const [c, n] of totals) if (!classes.includes(c)) dropped.push({ class: c, count: n, reason: "not in the scenario's classes" });
  } else {
    classes = [];
    for (const c of candidates) {
      const n = totals.get(c) ?? 0;
      const reason =
        n === 0 ? "no images"
        : n < minPerClass ? `${n} image(s), fewer than minPerClass (${minPerClass})`
        : opts.task === "multiclass" && n < minFraction * kept.length ? `less than ${minFraction * 100}% of the scenario's images`
        : (trainTotals.get(c) ?? 0) === 0 ? "no training images"
        : null;
      if (reason) dropped.push({ class: c, count: n, reason });
      else classes.push(c);
    }
  }
  if (classes.length < 2) {
    const why = dropped.map((d) => `${d.class}: ${d.reason}`).join("; ");
    throw new ScenarioError(`scenario ${opts.modality}/${opts.task} has ${classes.length} usable class(es) after filters${why ? ` (${why})` : ""}`);
  }
  const counts = Object.fromEntries(SPLITS.map((s) => [s, Object.fromEntries(classes.map((c) => [c, 0]))])) as Record<Split, Record<string, number>>;
  const rowIndices: Record<Split, number[]> = { train: [], valid: [], test: [] };
  const labels: Record<Split, number[]> = { train: [], valid: [], test: [] };
  for (const i of kept) {
    const r = rows[i]!;
    const li = classes.indexOf(labelName(opts.task, r.diagnosis));
    if (li < 0) continue;
    const s = r.split as Split;
    rowIndices[s].push(i);
    labels[s].push(li);
    counts[s][classes[li]!]!++;
  }
  const warnings: string[] = [];
  for (const s of ["valid", "test"] as const) {
    for (const c of classes) if (counts[s][c] === 0) warnings.push(`class ${c} has no ${s} images: its ${s} metrics are undefined`);
  }
  return {
    key: `${opts.modality}/${opts.task}`,
    modality: opts.modality,
    task: opts.task,
    classes,
    positiveClass: "covid19",
    filters,
    minPerClass,
    counts,
    dropped,
    rowIndices,
    labels,
    filteredOut,
    warnings,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
