/**
 * The report's hyperparameter importance: per architecture, the chance-corrected share of the selection metric's
 * variance (ε², one-way ANOVA) that the learning rate and each augmentation (on/off) explain, each on its own,
 * over the search trials trained to the end (@hypersweep/metrics' hyperparameterImportance, as the dashboard
 * shows it). A trial stopped early (ASHA) scored only up to its rung and is left out.
 */
import { hyperparameterImportance, type Importance } from "@hypersweep/metrics";

export interface ArchitectureImportance extends Importance {
  architecture: string;
  /** Finished search trials left out because early stopping ended them at a rung. */
  stoppedEarly: number;
}

export interface ImportanceTrial {
  architecture: string;
  learningRate: number;
  augmentations: string[];
  stage: string;
  status: string;
  selectionScore?: number | null;
  stoppedEarlyAt?: number | null;
}

export function importanceOf(architectures: string[], trials: ImportanceTrial[], augmentations: string[]): ArchitectureImportance[] {
  return architectures.map((architecture) => {
    const done = trials.filter((t) => t.architecture === architecture && t.stage === "search" && t.status === "succeeded" && t.selectionScore != null);
    const full = done.filter((t) => t.stoppedEarlyAt == null);
    return {
      architecture,
      stoppedEarly: done.length - full.length,
      ...hyperparameterImportance(full.map((t) => ({ learningRate: t.learningRate, augmentations: t.augmentations, score: t.selectionScore! })), augmentations),
    };
  });
}

/** The table both renderers draw: one row per hyperparameter, one column per architecture (cells: ε² as %). */
export function importanceTable(list: ArchitectureImportance[]): { header: string[]; rows: string[][] } {
  const factors = list.find((a) => a.enough)?.factors.map((f) => f.factor) ?? [];
  const header = ["Hyperparameter", ...list.map((a) => `${a.architecture} (${a.n} trials${a.enough ? "" : ": not enough"})`)];
  const rows = factors.map((factor) => [
    factor,
    ...list.map((a) => {
      if (!a.enough) return "—";
      const f = a.factors.find((x) => x.factor === factor);
      return f?.share == null ? (f?.note ?? "—") : `${(f.share * 100).toFixed(0)}%`;
    }),
  ]);
  return { header, rows };
}

export const IMPORTANCE_NOTE =
  "The share of the variance of the selection metric across each architecture's finished search trials (trained to the end) that each hyperparameter explains on its own, less what chance alone would give (ε², one-way ANOVA; 0% = no more than chance). In a sampled plan the hyperparameters overlap, so the shares need not add up to 100%; below 6 trials none is given.";
