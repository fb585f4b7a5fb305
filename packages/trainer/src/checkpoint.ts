/**
 * Checkpoints: after every epoch, `checkpointDir/epoch-NNNN/` holds
 *   model.json + weights.bin       all model weights (BatchNorm moving statistics included), tfjs layout
 *   optimizer.json + optimizer.bin Adam's state (iteration count, first and second moments), in its own order
 *   state.json                     epoch, progress (best epoch, early stopping, history), PRNG state, fingerprint
 *
 * Invariants:
 * - A directory named epoch-NNNN is complete: it is written as a temp directory, every file fsync'ed, then
 *   renamed into place (and the parent fsync'ed). A crash leaves at most a `.tmp-*` directory, removed on start.
 * - The newest epoch-NNNN is where a restarted trial resumes; the best epoch's directory is kept as well (its
 *   weights are the trial's output), every other one is removed once a newer checkpoint exists.
 * - A checkpoint is only resumed by the same trial configuration (the fingerprint): anything else is an error,
 *   never a silent fresh start over someone else's files.
 */
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import type { TrainerSpec } from "@hypersweep/core";
import { CheckpointError } from "./errors.ts";
import type { TrialProgress } from "./progress.ts";
import { loadTensorList, restoreModelWeights, saveModelFiles, saveTensorList, syncDir, writeFileSynced } from "./weights-io.ts";

type Tf = typeof tfTypes;

export const CHECKPOINT_FORMAT = "hypersweep-checkpoint/1";
const OPTIMIZER_STEM = "optimizer";
const STATE_JSON = "state.json";
const DIR_PATTERN = /^epoch-(\d{4,})$/;

export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  fingerprint: Record<string, unknown>;
  epoch: number;
  /** The augmentation PRNG's state after this epoch. */
  rngState: number;
  progress: TrialProgress;
  savedAt: string;
}

/** The spec fields that determine the trajectory of a trial: resuming with any of them changed is refused. */
export function trialFingerprint(spec: TrainerSpec): Record<string, unknown> {
  return {
    trialId: spec.trialId,
    seed: spec.seed,
    architecture: spec.architecture,
    stage: spec.stage,
    task: spec.task,
    learningRate: spec.learningRate,
    augmentations: spec.augmentations,
    augmentationParams: spec.augmentationParams,
    batchSize: spec.batchSize,
    imageSize: spec.imageSize,
    schedule: spec.schedule,
    earlyStopping: spec.earlyStopping ?? null,
    selectionMetric: spec.selectionMetric,
    datasetVersionId: spec.data.datasetVersionId,
    scenario: spec.data.scenario,
    pretrained: spec.pretrained ?? null,
  };
}

export function checkpointDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, "0")}`;
}

async function listCheckpoints(root: string): Promise<{ epoch: number; dir: string }[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CheckpointError(`cannot list checkpoint directory ${root}`, { cause: e });
  }
  return names
    .map((n) => ({ m: DIR_PATTERN.exec(n), n }))
    .filter((x): x is { m: RegExpExecArray; n: string } => x.m !== null)
    .map((x) => ({ epoch: Number(x.m[1]), dir: path.join(root, x.n) }))
    .sort((a, b) => b.epoch - a.epoch);
}

/** Removes half-written temp directories left by a crash. */
export async function cleanTemp(root: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith(".tmp-")).map((n) => rm(path.join(root, n), { recursive: true, force: true })));
}

export interface WriteCheckpointInput {
  tf: Tf;
  model: tfTypes.LayersModel;
  optimizer: tfTypes.Optimizer;
  state: Omit<CheckpointState, "format" | "savedAt">;
}

/** Writes the checkpoint of `state.epoch` atomically and prunes older ones. Returns its directory. */
export async function writeCheckpoint(root: string, input: WriteCheckpointInput): Promise<string> {
  const { tf, model, optimizer, state } = input;
  await mkdir(root, { recursive: true });
  const finalDir = path.join(root, checkpointDirName(state.epoch));
  const tmp = path.join(root, `.tmp-${checkpointDirName(state.epoch)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  await saveModelFiles(tf, model, tmp);
  const optWeights = await optimizer.getWeights();
  try {
    await saveTensorList(tf, optWeights, tmp, OPTIMIZER_STEM);
  } finally {
    // getWeights() returns the live variables plus a fresh iteration-count scalar: dispose only that one.
    tf.dispose(optWeights.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
  }
  const full: CheckpointState = { format: CHECKPOINT_FORMAT, ...state, savedAt: new Date().toISOString() };
  await writeFileSynced(path.join(tmp, STATE_JSON), JSON.stringify(full));
  await syncDir(tmp);
  await rm(finalDir, { recursive: true, force: true });
  await rename(tmp, finalDir);
  await syncDir(root);
  await prune(root, state.epoch, state.progress.bestEpoch);
  return finalDir;
}

async function prune(root: string, latest: number, best: number): Promise<void> {
  for (const c of await listCheckpoints(root)) {
    if (c.epoch !== latest && c.epoch !== best) await rm(c.dir, { recursive: true, force: true });
  }
}

export interface FoundCheckpoint {
  dir: string;
  state: CheckpointState;
}

function describeDifference(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const diff = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return diff.map((k) => `${k}: checkpoint ${JSON.stringify(a[k])}, spec ${JSON.stringify(b[k])}`).join("; ");
}

/** The newest checkpoint under `root`, or null when there is none. Throws if it belongs to another trial. */
export async function findLatestCheckpoint(root: string, fingerprint: Record<string, unknown>): Promise<FoundCheckpoint | null> {
  const [latest] = await listCheckpoints(root);
  if (!latest) return null;
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(path.join(latest.dir, STATE_JSON), "utf8")) as CheckpointState;
  } catch (e) {
    throw new CheckpointError(`checkpoint ${latest.dir} has no readable ${STATE_JSON}`, { cause: e });
  }
  if (state.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`checkpoint ${latest.dir} has format ${String(state.format)}, expected ${CHECKPOINT_FORMAT}`);
  }
  const diff = describeDifference(state.fingerprint, fingerprint);
  if (diff) throw new CheckpointError(`checkpoint ${latest.dir} belongs to another trial configuration (${diff})`);
  return { dir: latest.dir, state };
}

/** Loads model weights and optimiser state from a checkpoint directory into live objects. */
export async function restoreCheckpoint(
  tf: Tf,
  dir: string,
  model: tfTypes.LayersModel,
  optimizer: tfTypes.Optimizer,
): Promise<void> {
  await restoreModelWeights(tf, model, dir);
  const saved = await loadTensorList(tf, dir, OPTIMIZER_STEM);
  try {
    // Adam's setWeights copies each tensor into a new variable (and reads the iteration count).
    await optimizer.setWeights(saved);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: optimiser state does not fit: ${(e as Error).message}`, { cause: e });
  } finally {
    tf.dispose(saved.map((s) => s.tensor));
  }
}

/** The directory of epoch `epoch`'s checkpoint under `root` (which must exist: the best one is never pruned). */
export function checkpointPath(root: string, epoch: number): string {
  return path.join(root, checkpointDirName(epoch));
}
