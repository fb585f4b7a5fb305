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

type OpenTrialData = (data: TrainerSpec["data"], imageSize: number) => Promise<TrialData> | TrialData;

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
