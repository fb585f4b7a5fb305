/**
 * Trainer processes as the worker runs them (spec on stdin, one contract message per stdout line), for the
 * contract suite that every trainer passes: the TensorFlow.js trainer (packages/trainer) and the PyTorch one
 * (trainers/pytorch, run by Debian's python3 with torch).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TrainerMessage, type TrainerSpecInput } from "@hypersweep/core";
import { importDataset, resolveScenario, synthDataset, type ResolvedScenario } from "@hypersweep/data";
import { DEFAULT_TRAINER_CMD } from "../../apps/worker/src/main.ts";
import { PYTHON } from "./torch.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface TrainerUnderTest {
  name: "tfjs" | "pytorch";
  command: string[];
  env: Record<string, string>;
}

export const TRAINERS: TrainerUnderTest[] = [
  { name: "tfjs", command: DEFAULT_TRAINER_CMD, env: {} },
  { name: "pytorch", command: [PYTHON, "-m", "hypersweep_trainer"], env: { PYTHONPATH: path.join(REPO, "trainers/pytorch") } },
];

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  messages: TrainerMessage[];
  stderr: string;
  /** Milliseconds from the first signal the test sent to the process's exit (null: no signal sent). */
  afterSignalMs: number | null;
}

/**
 * Runs a trainer to its exit. Every stdout line must parse as a contract message (else the promise rejects,
 * quoting the line); `onMessage` may signal the child as messages arrive.
 */
export function runTrainer(
  t: TrainerUnderTest,
  stdin: string,
  onMessage?: (m: TrainerMessage, signal: (s: NodeJS.Signals) => void) => void,
): Promise<Run> {
  const [bin, ...args] = t.command;
  const child = spawn(bin!, args, {
    cwd: REPO,
    env: { ...process.env, HYPERSWEEP_TRAINER_THREADS: "1", ...t.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const run: Run = { code: null, signal: null, messages: [], stderr: "", afterSignalMs: null };
  let signalledAt: number | null = null;
  let bad: Error | null = null;
  let buffered = "";
  const send = (s: NodeJS.Signals) => {
    signalledAt ??= performance.now();
    child.kill(s);
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const parsed = (() => {
        try {
          return TrainerMessage.safeParse(JSON.parse(line));
        } catch (e) {
          return { success: false as const, error: e };
        }
      })();
      if (!parsed.success) {
        bad ??= new Error(`${t.name}: stdout line is not a contract message: ${line.slice(0, 300)} (${String(parsed.error)})`);
        continue;
      }
      run.messages.push(parsed.data);
      onMessage?.(parsed.data, send);
    }
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => (run.stderr += c));
  child.stdin.on("error", () => {}); // a trainer may answer a bad spec before reading all of it
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (bad) return reject(bad);
      if (buffered.trim()) return reject(new Error(`${t.name}: unterminated stdout line: ${buffered.slice(0, 300)}`));
      resolve({ ...run, code, signal, afterSignalMs: signalledAt === null ? null : performance.now() - signalledAt });
    });
  });
}

export interface ContractDataset {
  root: string;
  versionDir: string;
  contentHash: string;
  rows: { sha256: string; fileName: string }[];
  scenario: ResolvedScenario;
  cleanup(): void;
}

/** A small synthesised dataset version (binary CT scenario) in a temp directory. */
export async function contractDataset(images = 72, seed = 3): Promise<ContractDataset> {
  const root = mkdtempSync(path.join(tmpdir(), "hs-contract-"));
  await synthDataset(path.join(root, "src"), { images, size: 24, seed });
  const version = await importDataset(path.join(root, "src"), { dataRoot: path.join(root, "data") });
  const scenario = resolveScenario(version.rows, { modality: "ct", task: "binary" });
  return {
    root, versionDir: version.storagePath, contentHash: version.contentHash, rows: version.rows, scenario,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A search-trial spec on `ds` (small_cnn, 16 px), its directories under `dir`. */
export function contractSpec(ds: ContractDataset, dir: string, over: Partial<TrainerSpecInput> = {}): TrainerSpecInput {
  return {
    trialId: "contract", attempt: 1, seed: 11, architecture: "small_cnn", stage: "search", task: "binary",
    learningRate: 0.01, augmentations: ["rotation", "hflip", "center_crop", "brightness", "contrast"],
    augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 },
    epochs: 2, batchSize: 8, imageSize: 16, schedule: { stepSize: 1, gamma: 0.5 }, selectionMetric: "auc",
    data: {
      datasetVersionId: ds.contentHash, datasetDir: ds.versionDir, cacheDir: path.join(ds.root, "cache"),
      scenario: { key: ds.scenario.key, modality: "ct", task: "binary", classes: ds.scenario.classes, positiveClass: "covid19" },
    },
    checkpointDir: path.join(dir, "checkpoints"), outputDir: path.join(dir, "output"),
    ...over,
  };
}

type Epoch = Extract<TrainerMessage, { type: "epoch" }>;
export const epochsOf = (r: Run) => r.messages.filter((m): m is Epoch => m.type === "epoch");
/** An epoch without its wall time (what two runs of one seed must agree on). */
export const trajectory = (e: Epoch) => ({ ...e, durationMs: 0 });

/**
 * Runs a trainer as the child of a shell that the test then SIGKILLs (a worker dying) once `when` sees a
 * message; resolves with whether the orphaned trainer exited by itself within `withinMs`.
 */
export function orphanTrainer(t: TrainerUnderTest, stdin: string, when: (m: TrainerMessage) => boolean, withinMs: number): Promise<{ exited: boolean; messages: TrainerMessage[] }> {
  const quoted = t.command.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  // fd 3 carries the spec: a background job's own stdin would be /dev/null.
  const sh = spawn("/bin/sh", ["-c", `exec 3<&0; ${quoted} <&3 & echo "pid $!"; wait`], {
    cwd: REPO,
    env: { ...process.env, HYPERSWEEP_TRAINER_THREADS: "1", ...t.env },
    stdio: ["pipe", "pipe", "ignore"],
  });
  const messages: TrainerMessage[] = [];
  let pid = 0;
  let buffered = "";
  return new Promise((resolve, reject) => {
    sh.on("error", reject);
    sh.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("pid ")) {
          pid = Number(line.slice(4));
          continue;
        }
        const m = TrainerMessage.parse(JSON.parse(line));
        messages.push(m);
        if (pid && sh.exitCode === null && sh.signalCode === null && when(m)) {
          sh.kill("SIGKILL");
          const started = Date.now();
          const poll = setInterval(() => {
            const alive = (() => {
              try {
                process.kill(pid, 0);
                return true;
              } catch {
                return false;
              }
            })();
            if (!alive || Date.now() - started > withinMs) {
              clearInterval(poll);
              if (alive) process.kill(pid, "SIGKILL");
              resolve({ exited: !alive, messages });
            }
          }, 100);
        }
      }
    });
    sh.stdin.end(stdin);
  });
}
