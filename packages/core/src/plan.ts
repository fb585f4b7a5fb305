/**
 * The plan: a sweep spec and its seed expanded into the ordered, immutable list of trials. For each
 * architecture, for each learning rate, `subsetsPerRate` distinct augmentation subsets drawn without
 * replacement (or all of them). Each (architecture, learning rate) draws from its own seeded stream, so adding
 * an architecture or a learning rate never changes the draws of the others. Same spec → same list, byte for
 * byte, and the same plan hash (sha256 of a canonical JSON form).
 */
import { createHash } from "node:crypto";
import { streamFor } from "./rng.ts";
import { allSubsets, sampleSubsets, subsetDimension } from "./search-space.ts";
import type { PretrainedRef, SweepSpec } from "./spec.ts";
import type { SuccessiveHalving } from "./early-stopping.ts";
import type { Architecture, Augmentation, SelectionMetric } from "./trainer-contract.ts";

export interface PlannedTrial {
  position: number;
  /** Stable and readable: architecture/lr/augmentations. */
  key: string;
  architecture: Architecture;
  learningRate: number;
  /** In the canonical order of the preset's augmentation list. */
  augmentations: Augmentation[];
  stage: "search";
  epochs: number;
  batchSize: number;
  imageSize: number;
  schedule: { stepSize: number; gamma: number };
  augmentationParams: SweepSpec["augmentationParams"];
  selectionMetric: SelectionMetric;
  /** The imported weights this trial starts from (only when the sweep names some for its architecture). */
  pretrainedWeights?: PretrainedRef;
  /** The sweep's early-stopping rungs and eta (only when it has them): the epochs at which the worker asks Postgres whether to go on. */
  halving?: SuccessiveHalving;
}

export interface Plan {
  trials: PlannedTrial[];
  planHash: string;
}

/** JSON with object keys sorted at every level: the same value always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function trialKey(architecture: string, learningRate: number, augmentations: readonly string[]): string {
  return `${architecture}/lr=${learningRate}/aug=${augmentations.length ? augmentations.join("+") : "none"}`;
}

export function planTrials(spec: SweepSpec): Plan {
  const dim = subsetDimension("augmentations", spec.augmentations);
  const trials: PlannedTrial[] = [];
  for (const architecture of spec.architectures) {
    for (const learningRate of spec.learningRates) {
      const subsets = spec.allSubsets ? allSubsets(dim) : sampleSubsets(dim, spec.subsetsPerRate, streamFor(spec.seed, `subsets|${architecture}|${learningRate}`), "overrides.subsetsPerRate");
      for (const augmentations of subsets) {
        trials.push({
          position: trials.length,
          key: trialKey(architecture, learningRate, augmentations),
          architecture,
          learningRate,
          augmentations: augmentations as Augmentation[],
          stage: "search",
          epochs: spec.searchEpochs,
          batchSize: spec.batchSize[architecture],
          imageSize: spec.imageSize,
          schedule: { ...spec.schedule },
          augmentationParams: { ...spec.augmentationParams },
          selectionMetric: spec.selectionMetric,
          ...(spec.pretrained?.[architecture] ? { pretrainedWeights: { ...spec.pretrained[architecture] } } : {}),
          ...(spec.earlyStopping ? { halving: { rungs: [...spec.earlyStopping.rungs], eta: spec.earlyStopping.eta } } : {}),
        });
      }
    }
  }
  const planHash = createHash("sha256").update(canonicalJson({ spec, trials })).digest("hex");
  return { trials, planHash };
}
