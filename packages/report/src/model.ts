/**
 * A sweep's report as data: the search grid (learning rate × augmentation subset, per architecture, with the
 * validation metrics of each trial's best epoch), the final models' test metrics with 95% bootstrap intervals
 * (the layout of the paper's Tables 12–14), their confusion matrices, and further evaluations (binarised,
 * cross-dataset) where they exist. Built from exactly what the API serves for the sweep, its trials and
 * evaluations: the renderers only format these numbers.
 */

import { importanceOf, type ArchitectureImportance } from "./importance.ts";

/** The sweep as GET /v1/sweeps/:id serves it (the fields the report reads). */
export interface ReportSweepInput {
  id: string;
  name: string | null;
  status: string;
  datasetId: string;
  scenarioKey: string;
  scenario: unknown;
  spec: unknown;
  seed: number;
  preset: string;
  createdAt: Date | string;
  finishedAt: Date | string | null;
  /** Why the sweep failed (each architecture whose final training failed for good, and why), else null. */
  error?: string | null;
}

/** A trial as GET /v1/sweeps/:id/trials serves it. */
export interface ReportTrialInput {
  id: string;
  position: number;
  architecture: string;
  learningRate: number;
  augmentations: string[];
  stage: string;
  status: string;
  bestEpoch: number | null;
  epochsDone: number;
  valAuc: number | null;
  valF1: number | null;
  valLoss: number | null;
  metrics: unknown;
  error: string | null;
  /** The rung at which early stopping (ASHA) ended the trial; null or absent when it ran all its epochs. */
  stoppedEarlyAt?: number | null;
  /** The selection metric at the trial's best epoch (hyperparameter importance); absent: not shown. */
  selectionScore?: number | null;
}

/** An evaluation of one of the sweep's final models (binarised or on another dataset). */
export interface ReportEvaluationInput {
  id: string;
  trialId: string;
  kind: string;
  dataset: string;
  status: string;
  images: number;
  selection: unknown;
  result: unknown;
  error: string | null;
}

export interface Interval { lower: number; upper: number }

/** One test-set score line: the paper's columns, each with its interval when the bootstrap defined one. */
export interface ScoreLine {
  n: number | null;
  metrics: Record<string, number | null>;
  intervals: Record<string, Interval | null>;
}

export interface GridCell {
  trialId: string;
  status: string;
  bestEpoch: number | null;
  valAuc: number | null;
  valF1: number | null;
  valLoss: number | null;
  winner: boolean;
  /** The rung epoch at which early stopping ended this trial (its metrics are its best epoch up to there), or null. */
  stoppedEarlyAt: number | null;
}

export interface SearchGrid {
  architecture: string;
  learningRates: number[];
  /** Row labels: each augmentation subset tried (sorted as the plan lists them). */
  subsets: string[][];
  /** cells[subset][learningRate]; null where that pair was not sampled. */
  cells: (GridCell | null)[][];
}

export interface FinalModel {
  architecture: string;
  trialId: string;
  status: string;
  learningRate: number;
  augmentations: string[];
  bestEpoch: number | null;
  epochsDone: number;
  error: string | null;
  test: ScoreLine | null;
  confusion: { classes: string[]; matrix: number[][] } | null;
}

export interface EvaluationLine {
  id: string;
  kind: string;
  architecture: string;
  trialId: string;
  dataset: string;
  status: string;
  /** Images scored, and (cross-dataset) how many were removed as seen in training or validation. */
  images: number;
  removed: number | null;
  score: ScoreLine | null;
  /** Binarised: the multiclass model read as COVID-19 vs the rest, on the same images. */
  comparison: ScoreLine | null;
  error: string | null;
}

export interface Report {
  sweep: {
    id: string;
    name: string | null;
    status: string;
    datasetId: string;
    scenarioKey: string;
    modality: string;
    task: "binary" | "multiclass";
    classes: string[];
    positiveClass: string;
    selectionMetric: string;
    /** Early stopping of search trials (ASHA rungs and eta), or null when every trial ran all its epochs. */
    earlyStopping: { rungs: number[]; eta: number } | null;
    preset: string;
    seed: number;
    createdAt: string;
    finishedAt: string | null;
    /** Why the sweep failed, else null. */
    error: string | null;
  };
  /** The test-table columns for this task: Table 12/13 (binary) or Table 14 (multiclass). */
  columns: { key: string; label: string }[];
  grids: SearchGrid[];
  /** Per architecture with search trials: how much of the selection metric's variance each hyperparameter explains. */
  importance: ArchitectureImportance[];
  finals: FinalModel[];
  evaluations: EvaluationLine[];
}

const BINARY_COLUMNS = [
  { key: "precision", label: "Precision" }, { key: "recall", label: "Recall" }, { key: "f1", label: "F1 score" },
  { key: "accuracy", label: "Accuracy" }, { key: "auc", label: "AUC" },
];
const MULTICLASS_COLUMNS = [
  ...BINARY_COLUMNS.slice(0, 4), { key: "auc", label: "Binary AUC" }, { key: "macroAuc", label: "Multiclass AUC" },
];
/** The columns of an evaluation line (Tables 15–17): binary AUC of COVID-19 vs the rest. */
export const EVALUATION_COLUMNS = [...BINARY_COLUMNS.slice(0, 4), { key: "auc", label: "Binary AUC" }];

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const iso = (d: Date | string | null): string | null => (d === null ? null : typeof d === "string" ? d : d.toISOString());

/** A test report as the scorer stores it ({ n, metrics, intervals: { key: { lower, upper } | null } }). */
export function scoreLine(v: unknown): ScoreLine | null {
  const r = obj(v);
  const metrics = obj(r.metrics);
  if (Object.keys(metrics).length === 0) return null;
  const intervals: Record<string, Interval | null> = {};
  for (const [k, ci] of Object.entries(obj(r.intervals))) {
    const c = obj(ci);
    const lower = num(c.lower);
    const upper = num(c.upper);
    intervals[k] = lower !== null && upper !== null ? { lower, upper } : null;
  }
  return { n: num(r.n), metrics: Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, num(m)])), intervals };
}

function earlyStoppingOf(v: unknown): { rungs: number[]; eta: number } | null {
  const e = obj(v);
  return Array.isArray(e.rungs) && num(e.eta) !== null ? { rungs: e.rungs.filter((r): r is number => num(r) !== null), eta: num(e.eta)! } : null;
}

const subsetKey = (s: readonly string[]) => s.join("+");

function grid(architecture: string, trials: ReportTrialInput[], winnerId: string | null): SearchGrid {
  const learningRates = [...new Set(trials.map((t) => t.learningRate))].sort((a, b) => b - a);
  const subsets: string[][] = [];
  for (const t of [...trials].sort((a, b) => a.position - b.position)) {
    if (!subsets.some((s) => subsetKey(s) === subsetKey(t.augmentations))) subsets.push([...t.augmentations]);
  }
  subsets.sort((a, b) => a.length - b.length || subsetKey(a).localeCompare(subsetKey(b)));
  const cells = subsets.map((s) => learningRates.map((lr) => {
    const t = trials.find((x) => x.learningRate === lr && subsetKey(x.augmentations) === subsetKey(s));
    return t ? { trialId: t.id, status: t.status, bestEpoch: t.bestEpoch, valAuc: t.valAuc, valF1: t.valF1, valLoss: t.valLoss, winner: t.id === winnerId, stoppedEarlyAt: t.stoppedEarlyAt ?? null } : null;
  }));
  return { architecture, learningRates, subsets, cells };
}

/** The search trial a final training retrained: same architecture, learning rate and subset. */
function sourceOf(final: ReportTrialInput, search: ReportTrialInput[]): ReportTrialInput | undefined {
  return search.find((t) => t.architecture === final.architecture && t.learningRate === final.learningRate && subsetKey(t.augmentations) === subsetKey(final.augmentations));
}

function evaluationLine(e: ReportEvaluationInput, finals: ReportTrialInput[]): EvaluationLine {
  const result = obj(e.result);
  const selection = obj(e.selection);
  return {
    id: e.id, kind: e.kind, trialId: e.trialId, dataset: e.dataset, status: e.status, images: e.images,
    architecture: finals.find((f) => f.id === e.trialId)?.architecture ?? "?",
    removed: num(selection.removed) ?? num(obj(selection.counts).removed),
    score: scoreLine(result),
    comparison: scoreLine(result.comparison),
    error: e.error,
  };
}

export function buildReport(sweep: ReportSweepInput, trials: ReportTrialInput[], evaluations: ReportEvaluationInput[] = []): Report {
  const sc = obj(sweep.scenario);
  const spec = obj(sweep.spec);
  const task = sc.task === "multiclass" ? "multiclass" : "binary";
  const classes = Array.isArray(sc.classes) ? sc.classes.map(String) : [];
  const search = trials.filter((t) => t.stage === "search");
  const finalTrials = trials.filter((t) => t.stage === "final").sort((a, b) => a.position - b.position);
  const architectures = [...new Set([...search, ...finalTrials].map((t) => t.architecture))];
  const grids = architectures.filter((a) => search.some((t) => t.architecture === a)).map((a) => {
    const final = finalTrials.find((f) => f.architecture === a);
    return grid(a, search.filter((t) => t.architecture === a), final ? sourceOf(final, search)?.id ?? null : null);
  });
  const finals = finalTrials.map((f): FinalModel => {
    const test = obj(obj(f.metrics).test);
    const matrix = Array.isArray(test.confusionMatrix) ? (test.confusionMatrix as number[][]) : null;
    return {
      architecture: f.architecture, trialId: f.id, status: f.status, learningRate: f.learningRate, augmentations: f.augmentations,
      bestEpoch: f.bestEpoch, epochsDone: f.epochsDone, error: f.error, test: scoreLine(test),
      confusion: matrix ? { classes: Array.isArray(test.classes) ? test.classes.map(String) : classes, matrix } : null,
    };
  });
  return {
    sweep: {
      id: sweep.id, name: sweep.name, status: sweep.status, datasetId: sweep.datasetId, scenarioKey: sweep.scenarioKey,
      modality: String(sc.modality ?? ""), task, classes, positiveClass: String(sc.positiveClass ?? ""),
      selectionMetric: String(spec.selectionMetric ?? (task === "binary" ? "auc" : "f1")), preset: sweep.preset, seed: sweep.seed,
      earlyStopping: earlyStoppingOf(spec.earlyStopping),
      createdAt: iso(sweep.createdAt)!, finishedAt: iso(sweep.finishedAt), error: sweep.error ?? null,
    },
    columns: task === "binary" ? BINARY_COLUMNS : MULTICLASS_COLUMNS,
    grids,
    importance: importanceOf(grids.map((g) => g.architecture), search, Array.isArray(spec.augmentations) ? spec.augmentations.map(String) : [...new Set(search.flatMap((t) => t.augmentations))].sort()),
    finals,
    evaluations: evaluations.filter((e) => finalTrials.some((f) => f.id === e.trialId)).map((e) => evaluationLine(e, finalTrials)),
  };
}
