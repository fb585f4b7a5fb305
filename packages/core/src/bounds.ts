/**
 * Bounds on what one sweep may cost: learning rate, batch size, image size and epochs. The schema's own caps
 * (SweepOverrides) are absolute; these are the server's, lower by default, and an operator may raise them up to
 * those caps (packages/config: HYPERSWEEP_MAX_*). A sweep past any bound is refused with one issue per field.
 */
import { SpecError } from "./errors.ts";

export interface SweepBounds {
  maxLearningRate: number;
  maxBatchSize: number;
  maxImageSize: number;
  /** Search and final epochs alike. */
  maxEpochs: number;
}

export const DEFAULT_SWEEP_BOUNDS: Readonly<SweepBounds> = Object.freeze({ maxLearningRate: 1, maxBatchSize: 1024, maxImageSize: 1024, maxEpochs: 500 });

/** The variable an operator sets to raise each bound. */
export const BOUND_VARIABLES: Readonly<Record<keyof SweepBounds, string>> = Object.freeze({
  maxLearningRate: "HYPERSWEEP_MAX_LEARNING_RATE",
  maxBatchSize: "HYPERSWEEP_MAX_BATCH_SIZE",
  maxImageSize: "HYPERSWEEP_MAX_IMAGE_SIZE",
  maxEpochs: "HYPERSWEEP_MAX_EPOCHS",
});

/** The fields of a merged sweep spec that the bounds look at. */
export interface BoundedSpec {
  learningRates: readonly number[];
  architectures: readonly string[];
  batchSize: Readonly<Record<string, number>>;
  imageSize: number;
  searchEpochs: number;
  finalEpochs: number;
}

/** Throws a SpecError naming every field of the merged spec past a bound (`overridden` says where it came from). */
export function checkBounds(spec: BoundedSpec, bounds: SweepBounds, overridden: { batchSize?: number | object }): void {
  const issues: Array<{ path: string; message: string }> = [];
  const over = (path: string, value: number, bound: keyof SweepBounds) => {
    if (value > bounds[bound]) issues.push({ path, message: `${value} is above this server's limit of ${bounds[bound]} (an operator may raise it: ${BOUND_VARIABLES[bound]})` });
  };
  spec.learningRates.forEach((lr, i) => over(`overrides.learningRates.${i}`, lr, "maxLearningRate"));
  for (const a of spec.architectures) {
    over(typeof overridden.batchSize === "number" ? "overrides.batchSize" : `overrides.batchSize.${a}`, spec.batchSize[a], "maxBatchSize");
  }
  over("overrides.imageSize", spec.imageSize, "maxImageSize");
  over("overrides.searchEpochs", spec.searchEpochs, "maxEpochs");
  over("overrides.finalEpochs", spec.finalEpochs, "maxEpochs");
  const seen = new Set<string>();
  const unique = issues.filter((i) => !seen.has(i.path) && seen.add(i.path));
  if (unique.length) throw new SpecError(`the sweep is past this server's bounds: ${unique.map((i) => `${i.path}: ${i.message}`).join("; ")}`, unique);
}
