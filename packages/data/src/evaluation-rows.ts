/**
 * Which rows an evaluation scores (paper, section 4). Pure: the API decides the rows when an evaluation is
 * created and stores them; the trainer only scores the images it is given.
 *
 * Cross-dataset (Tables 15–16): the target version's test rows of the model's scenario, minus every image whose
 * content hash the model saw in training or validation, then (optionally) a seeded sample to a class balance.
 * Binarised (Table 17): the multiclass scenario's test rows of the same version, labelled with the binary
 * model's classes (COVID-19 vs the rest).
 */
import { ScenarioError } from "./errors.ts";
import { deriveSeed, mulberry32, shuffleInPlace } from "./rng.ts";
import { resolveScenario, type ResolvedScenario, type ScenarioFilters } from "./scenario.ts";
import type { Modality, VersionRow } from "./schema.ts";

export interface ModelScenario {
  modality: Modality;
  task: "binary" | "multiclass";
  /** The model's classes, in label order. */
  classes: readonly string[];
  filters?: ScenarioFilters;
}

/** sha256 of every image the model saw: its scenario's training and validation rows of its own version. */
export function seenImages(trainedOn: readonly VersionRow[], scenario: ModelScenario): { training: Set<string>; validation: Set<string> } {
  const r = resolveScenario(trainedOn, { modality: scenario.modality, task: scenario.task, filters: scenario.filters, classes: scenario.classes });
  return {
    training: new Set(r.rowIndices.train.map((i) => trainedOn[i]!.sha256)),
    validation: new Set(r.rowIndices.valid.map((i) => trainedOn[i]!.sha256)),
  };
}

/** Relative weights per class ("equal": every class of the model alike). Classes left out are not sampled. */
export type ClassBalance = "equal" | Readonly<Record<string, number>>;

export interface SelectionOptions {
  /** The rows to score come from this scenario of the target version (the model's classes and task). */
  scenario: ModelScenario;
  seen: { training: ReadonlySet<string>; validation: ReadonlySet<string> };
  classBalance?: ClassBalance;
  /** Seed of the balance sampling. @defaultValue 0 */
  seed?: number;
}

export interface Selection {
  /** sha256 of each row to score, in the target manifest's order (by file name), and its label. */
  images: string[];
  labels: number[];
  classes: string[];
  report: {
    /** Test rows of the scenario in the target version (before anything is removed). */
    testRows: number;
    /** Test rows whose image appears twice in the test set (scored once). */
    duplicates: number;
    /** Removed because the model saw the image: in training (first), else in validation; total. */
    removed: { training: number; validation: number; total: number };
    /** Per class after removal (what the balance sampled from) and as scored. */
    available: Record<string, number>;
    scored: Record<string, number>;
    /** The balance as normalised weights, and the seed, when sampled. */
    balance: Record<string, number> | null;
    seed: number | null;
    /** Rows of the target's test split dropped because their class is not one of the model's. */
    otherClasses: Record<string, number>;
  };
}

/** Normalised weights per class; throws ScenarioError naming a class the model does not have. */
export function balanceWeights(balance: ClassBalance, classes: readonly string[]): Record<string, number> {
  const raw = balance === "equal" ? Object.fromEntries(classes.map((c) => [c, 1])) : balance;
  const unknown = Object.keys(raw).filter((c) => !classes.includes(c));
  if (unknown.length) throw new ScenarioError(`class ${JSON.stringify(unknown[0])} is not one of the model's classes (${classes.join(", ")})`);
  const entries = Object.entries(raw).filter(([, w]) => w > 0);
  const sum = entries.reduce((a, [, w]) => a + w, 0);
  if (!entries.length || !Number.isFinite(sum)) throw new ScenarioError("a class balance needs at least one class with a positive weight");
  return Object.fromEntries(classes.filter((c) => (raw[c] ?? 0) > 0).map((c) => [c, raw[c]! / sum]));
}

/**
 * The largest sample whose class counts follow the weights (count_c = floor(s · w_c), s as large as the scarcest
 * class allows), each class drawn by a shuffle seeded with (seed, class): the same inputs give the same rows.
 */
function sampleToBalance(byClass: Map<number, number[]>, classes: readonly string[], weights: Record<string, number>, seed: number): Set<number> {
  let scale = Infinity;
  for (const [c, w] of Object.entries(weights)) scale = Math.min(scale, (byClass.get(classes.indexOf(c))?.length ?? 0) / w);
  const keep = new Set<number>();
  for (const [c, w] of Object.entries(weights)) {
    const li = classes.indexOf(c);
    const rows = [...(byClass.get(li) ?? [])];
    const k = Math.min(rows.length, Math.floor(scale * w + 1e-9));
    for (const i of shuffleInPlace(rows, mulberry32(deriveSeed("balance", seed, c))).slice(0, k)) keep.add(i);
  }
  return keep;
}

/** The rows to score on `target` (every row has its final split and hash, as in a version manifest). */
export function selectEvaluationRows(target: readonly VersionRow[], opts: SelectionOptions): Selection {
  const sc = opts.scenario;
  const r: ResolvedScenario = resolveScenario(target, { modality: sc.modality, task: sc.task, filters: sc.filters, classes: sc.classes });
  const classes = r.classes;
  const otherClasses: Record<string, number> = {};
  const modelClass = (d: string) => (sc.task === "binary" ? (d === "covid19" ? "covid19" : "other") : d);
  for (const row of target) {
    if (row.split !== "test" || row.modality !== sc.modality) continue;
    const c = modelClass(row.diagnosis);
    if (!classes.includes(c)) otherClasses[c] = (otherClasses[c] ?? 0) + 1;
  }
  const seenHashes = new Set<string>();
  let duplicates = 0;
  const removed = { training: 0, validation: 0, total: 0 };
  const byClass = new Map<number, number[]>();
  r.rowIndices.test.forEach((rowIndex, k) => {
    const h = target[rowIndex]!.sha256;
    if (seenHashes.has(h)) {
      duplicates++;
      return;
    }
    seenHashes.add(h);
    if (opts.seen.training.has(h)) removed.training++;
    else if (opts.seen.validation.has(h)) removed.validation++;
    else {
      const label = r.labels.test[k]!;
      byClass.set(label, [...(byClass.get(label) ?? []), rowIndex]);
    }
  });
  removed.total = removed.training + removed.validation;
  const available = Object.fromEntries(classes.map((c, li) => [c, byClass.get(li)?.length ?? 0]));
  const weights = opts.classBalance === undefined ? null : balanceWeights(opts.classBalance, classes);
  const seed = opts.seed ?? 0;
  const keep = weights ? sampleToBalance(byClass, classes, weights, seed) : new Set([...byClass.values()].flat());
  const images: string[] = [];
  const labels: number[] = [];
  const scored = Object.fromEntries(classes.map((c) => [c, 0]));
  r.rowIndices.test.forEach((rowIndex, k) => {
    if (!keep.has(rowIndex)) return;
    images.push(target[rowIndex]!.sha256);
    labels.push(r.labels.test[k]!);
    scored[classes[r.labels.test[k]!]!]!++;
  });
  return {
    images,
    labels,
    classes,
    report: {
      testRows: r.rowIndices.test.length,
      duplicates,
      removed,
      available,
      scored,
      balance: weights,
      seed: weights ? seed : null,
      otherClasses,
    },
  };
}
