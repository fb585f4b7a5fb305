/**
 * Presets: the paper's protocol as data (PROTOCOL.md). `data-stock-2020` holds every number of the Data Stock
 * benchmark (sections 3.2, 3.3 and Appendix A); a sweep may override any field, and the merged spec is stored.
 */
import type { SuccessiveHalving } from "./early-stopping.ts";
import { ARCHITECTURES, AUGMENTATIONS, type Architecture, type AugmentationParams } from "./trainer-contract.ts";

export interface Preset {
  name: string;
  description: string;
  /** Search learning rates (section 3.2). */
  learningRates: number[];
  /** Augmentation subsets sampled per learning rate (Appendix A: 5 of the 32). */
  subsetsPerRate: number;
  /** Try every subset instead of sampling (a grid over the subset dimension). */
  allSubsets: boolean;
  /** The augmentations the subset dimension ranges over. */
  augmentations: string[];
  /** Epochs of a search trial. */
  searchEpochs: number;
  /** Final training of the winner: at most this many epochs, early stopping with `patience`. */
  finalEpochs: number;
  patience: number;
  minDelta: number;
  /** Batch size per architecture (section 3.2). */
  batchSize: Record<Architecture, number>;
  /** Images are cropped to a square and resized to imageSize × imageSize, three channels (section 3.1). */
  imageSize: number;
  /** Brightness factor per modality: 0.11 for the radiograph collection, 0.2 for COVID-CT (Appendix A). */
  brightnessByModality: { ct: number; radiograph: number };
  augmentationParams: Omit<AugmentationParams, "brightness">;
  /** Step learning-rate schedule, stepped per epoch: ×gamma every stepSize epochs. */
  schedule: { stepSize: number; gamma: number };
  optimizer: "adam";
  loss: "cross_entropy";
  /** What decides the best trial: validation AUC for a binary task, validation F1 for a multiclass one. */
  selectionMetric: { binary: "auc" | "f1"; multiclass: "auc" | "f1" };
  /** Early stopping of search trials (ASHA rungs), or null: every search trial runs all its epochs. */
  earlyStopping: SuccessiveHalving | null;
}

export const DATA_STOCK_2020: Readonly<Preset> = Object.freeze<Preset>({
  name: "data-stock-2020",
  description: "COVID-19 CT & Radiograph Image Data Stock (2020): 4 learning rates × 5 sampled subsets of 5 augmentations, 30 epochs, Adam, step 7/0.1",
  learningRates: [1e-3, 1e-4, 1e-5, 1e-6],
  subsetsPerRate: 5,
  allSubsets: false,
  augmentations: [...AUGMENTATIONS],
  searchEpochs: 30,
  finalEpochs: 100,
  patience: 10,
  minDelta: 0,
  batchSize: { resnet18: 32, resnet50: 16, wide_resnet50_2: 8, densenet121: 8, densenet169: 8, small_cnn: 32 },
  imageSize: 512,
  brightnessByModality: { ct: 0.2, radiograph: 0.11 },
  augmentationParams: { rotationDegrees: 90, contrast: 0.2, centerCropFraction: 0.8 },
  schedule: { stepSize: 7, gamma: 0.1 },
  optimizer: "adam",
  loss: "cross_entropy",
  selectionMetric: { binary: "auc", multiclass: "f1" },
  // The paper trained every search trial for 30 epochs: no early stopping, so that its protocol stays exact.
  earlyStopping: null,
});

export const PRESETS: Readonly<Record<string, Readonly<Preset>>> = Object.freeze({ [DATA_STOCK_2020.name]: DATA_STOCK_2020 });

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** The preset of that name, or undefined: only the table's own keys count ("constructor" or "__proto__" are no preset). */
export function getPreset(name: string): Readonly<Preset> | undefined {
  return Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
}

// Every architecture has a batch size in every preset (checked once, at load).
for (const p of Object.values(PRESETS)) {
  for (const a of ARCHITECTURES) if (!(a in p.batchSize)) throw new Error(`preset ${p.name} has no batch size for ${a}`);
}
