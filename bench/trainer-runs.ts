/**
 * What the trainer benchmarks share: a synthesised dataset version with its preprocessing cache, the two trainer
 * commands, and one trial run through the worker's own ProcessRunner (spec on stdin, every line parsed with the
 * contract's schemas), timed from spawn to exit.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { TrainerSpec, type TrainerMessage, type TrainerSpecInput } from "@hypersweep/core";
import { ensureCache, importDataset, resolveScenario, synthDataset } from "@hypersweep/data";
import { DEFAULT_TRAINER_CMD, REPO_ROOT } from "../apps/worker/src/main.ts";
import { ProcessRunner } from "../apps/worker/src/process-runner.ts";

export const PYTHON = process.env.HYPERSWEEP_TORCH_PYTHON || "/usr/bin/python3";
export const TRAINER_COMMANDS: Record<"tfjs" | "pytorch", string[]> = {
  tfjs: DEFAULT_TRAINER_CMD,
  pytorch: ["env", `PYTHONPATH=${resolve(REPO_ROOT, "trainers/pytorch")}`, PYTHON, "-m", "hypersweep_trainer"],
};

export interface BenchDataset {
  root: string;
  data: TrainerSpecInput["data"];
  counts: { train: number; valid: number; test: number };
  /** The cache's images.u8 and the scenario's (row, label) pairs, for a loop that reads the cache directly. */
  cachePath: string;
  pairs: { train: [number, number][]; valid: [number, number][] };
}

/** A CT binary scenario over `images` synthesised images, cached at `size` px. */
export async function benchDataset(images: number, size: number, seed = 7): Promise<BenchDataset> {
  const root = mkdtempSync(join(tmpdir(), "hs-trainer-bench-"));
  await synthDataset(join(root, "src"), { images, size: Math.max(64, size), seed });
  const version = await importDataset(join(root, "src"), { dataRoot: join(root, "data") });
  const sc = resolveScenario(version.rows, { modality: "ct", task: "binary" });
  const cache = await ensureCache(version.storagePath, size, join(root, "cache"));
  const pairs = (split: "train" | "valid") => sc.rowIndices[split].map((r, k): [number, number] => [r, sc.labels[split][k]!]);
  return {
    cachePath: cache.dataPath,
    pairs: { train: pairs("train"), valid: pairs("valid") },
    root,
    data: {
      datasetVersionId: version.contentHash, datasetDir: version.storagePath, cacheDir: join(root, "cache"),
      scenario: { key: sc.key, modality: "ct", task: "binary", classes: sc.classes, positiveClass: "covid19" },
    },
    counts: { train: sc.rowIndices.train.length, valid: sc.rowIndices.valid.length, test: sc.rowIndices.test.length },
  };
}

export type EpochMessage = Extract<TrainerMessage, { type: "epoch" }>;
export interface TrialRunResult {
  wallMs: number;
  epochs: EpochMessage[];
  result: Extract<TrainerMessage, { type: "result" }>;
  backend: string;
}

/** Runs one trial with `trainer` as the worker does; throws when it does not end with a result. */
export async function runTrial(trainer: keyof typeof TRAINER_COMMANDS, spec: TrainerSpecInput, threads: number): Promise<TrialRunResult> {
  const runner = new ProcessRunner({ command: TRAINER_COMMANDS[trainer], cwd: REPO_ROOT, env: { HYPERSWEEP_TRAINER_THREADS: String(threads) } });
  const epochs: EpochMessage[] = [];
  let backend = "";
  const started = performance.now();
  const outcome = await runner.run({
    spec: TrainerSpec.parse(spec),
    signal: new AbortController().signal,
    onMessage: async (m) => {
      if (m.type === "epoch") epochs.push(m);
      if (m.type === "ready") backend = m.backend;
    },
  });
  const wallMs = performance.now() - started;
  if (outcome.kind !== "result") throw new Error(`${trainer} trial ${spec.trialId}: ${outcome.reason}: ${outcome.message}`);
  return { wallMs, epochs, result: outcome.result, backend };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
