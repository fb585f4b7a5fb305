/**
 * Where the trainer process gets its TrialData: `openTrialData(spec.data, spec.imageSize)` of @hypersweep/data.
 * This is the only module that opens data, so the training loop itself takes a TrialData and never knows.
 *
 * Hook for other data sources (and for tests of the real process): when the environment variable
 * HYPERSWEEP_TRIAL_DATA_MODULE names a module file (absolute, or relative to the working directory), that
 * module's `openTrialData(data: TrainerData, imageSize: number): Promise<TrialData>` is used instead.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { TrainerSpec, TrialData } from "@hypersweep/core";
import { TrialDataError } from "./errors.ts";

export const TRIAL_DATA_MODULE_ENV = "HYPERSWEEP_TRIAL_DATA_MODULE";

/** The data module's opener; the options (normalisation statistics, the images to score) serve evaluate mode. */
type OpenTrialData = (
  data: TrainerSpec["data"],
  imageSize: number,
  opts?: { stats?: unknown; testImages?: readonly string[] },
) => Promise<TrialData & { stats?: unknown }> | (TrialData & { stats?: unknown });

async function loadOpener(env: NodeJS.ProcessEnv): Promise<{ name: string; open: OpenTrialData }> {
  const override = env[TRIAL_DATA_MODULE_ENV];
  const name = override ? pathToFileURL(path.resolve(override)).href : "@hypersweep/data";
  let mod: Record<string, unknown>;
  try {
    mod = override ? ((await import(name)) as Record<string, unknown>) : ((await import("@hypersweep/data")) as Record<string, unknown>);
  } catch (e) {
    throw new TrialDataError(`cannot load the data module ${name}: ${(e as Error).message}`, { cause: e });
  }
  if (typeof mod.openTrialData !== "function") {
    throw new TrialDataError(`the data module ${name} does not export a function openTrialData`);
  }
  return { name, open: mod.openTrialData as OpenTrialData };
}

/** Opens the trial's data (errors become TrialDataError, reason `data`). */
export async function openTrialDataFor(spec: TrainerSpec, env: NodeJS.ProcessEnv = process.env): Promise<TrialData> {
  const { name, open } = await loadOpener(env);
  try {
    return await open(spec.data, spec.imageSize);
  } catch (e) {
    throw new TrialDataError(`${name} openTrialData(${spec.data.datasetVersionId}, ${spec.imageSize}) failed: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Evaluate mode: the images of `spec.evaluate.images` from `spec.data`'s version as the test split, normalised
 * with the statistics of the training split the weights were trained on (`spec.evaluate.trainedOn`).
 */
export async function openEvaluationDataFor(spec: TrainerSpec, env: NodeJS.ProcessEnv = process.env): Promise<TrialData> {
  const ev = spec.evaluate;
  if (!ev) throw new TrialDataError(`stage "evaluate" without an evaluate block`);
  const { name, open } = await loadOpener(env);
  let stats: unknown;
  try {
    const trained = await open(ev.trainedOn, spec.imageSize);
    stats = trained.stats;
    await trained.close?.();
  } catch (e) {
    throw new TrialDataError(`${name} openTrialData(${ev.trainedOn.datasetVersionId}, ${spec.imageSize}) for the training statistics failed: ${(e as Error).message}`, { cause: e });
  }
  if (!stats) throw new TrialDataError(`${name} reports no normalisation statistics (stats) for the data the weights were trained on`);
  try {
    return await open(spec.data, spec.imageSize, { stats, testImages: ev.images });
  } catch (e) {
    throw new TrialDataError(`${name} openTrialData(${spec.data.datasetVersionId}, ${spec.imageSize}) for evaluation failed: ${(e as Error).message}`, { cause: e });
  }
}
