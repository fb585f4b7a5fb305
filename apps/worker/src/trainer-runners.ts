/**
 * The trainers a worker node runs, each behind its own command (HYPERSWEEP_TRAINERS; HYPERSWEEP_TRAINER_CMD for
 * tfjs, HYPERSWEEP_PYTORCH_CMD for pytorch). A trial runs on the runner of its sweep's trainer; the claim only
 * hands this node trials of the trainers it runs.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkerConfig } from "@hypersweep/config";
import { ProcessRunner, splitCommand } from "./process-runner.ts";
import type { RunOutcome, TrialRun, TrialRunner } from "./runner.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The built-in TensorFlow.js trainer (packages/trainer), run with tsx. */
export const DEFAULT_TRAINER_CMD = ["node", "--import", "tsx", resolve(REPO_ROOT, "packages/trainer/src/main.ts")];
/** The PyTorch trainer of this checkout (trainers/pytorch). */
export const DEFAULT_PYTORCH_CMD = ["python3", "-m", "hypersweep_trainer"];
export const DEFAULT_PYTORCH_ENV = { PYTHONPATH: resolve(REPO_ROOT, "trainers/pytorch") };

/** One runner per trainer; a trial names its trainer (tfjs when it names none). */
export class TrainerRunners implements TrialRunner {
  constructor(private readonly runners: Readonly<Record<string, TrialRunner>>) {}

  get trainers(): string[] {
    return Object.keys(this.runners);
  }

  run(run: TrialRun): Promise<RunOutcome> {
    const trainer = run.trainer ?? "tfjs";
    const runner = this.runners[trainer];
    if (!runner) {
      // Only a trial claimed by id can get here; another worker that runs this trainer will take it.
      return Promise.resolve({ kind: "error", reason: "unsupported", message: `this worker runs no ${trainer} trainer (it runs ${this.trainers.join(", ")})`, retryable: true });
    }
    return runner.run(run);
  }
}

/** The runners HYPERSWEEP_TRAINERS asks for, each with its command. `env` is added to every trainer's environment. */
export function trainerRunners(cfg: Pick<WorkerConfig, "HYPERSWEEP_TRAINERS" | "HYPERSWEEP_TRAINER_CMD" | "HYPERSWEEP_PYTORCH_CMD" | "HYPERSWEEP_KILL_GRACE_MS">, env: Record<string, string> = {}): TrainerRunners {
  const runners: Record<string, TrialRunner> = {};
  for (const trainer of cfg.HYPERSWEEP_TRAINERS) {
    if (trainer === "tfjs") {
      const command = cfg.HYPERSWEEP_TRAINER_CMD ? splitCommand(cfg.HYPERSWEEP_TRAINER_CMD) : DEFAULT_TRAINER_CMD;
      runners.tfjs = new ProcessRunner({ command, cwd: REPO_ROOT, killGraceMs: cfg.HYPERSWEEP_KILL_GRACE_MS, env });
    } else {
      const command = cfg.HYPERSWEEP_PYTORCH_CMD ? splitCommand(cfg.HYPERSWEEP_PYTORCH_CMD) : DEFAULT_PYTORCH_CMD;
      runners.pytorch = new ProcessRunner({ command, cwd: REPO_ROOT, killGraceMs: cfg.HYPERSWEEP_KILL_GRACE_MS, env: { ...(cfg.HYPERSWEEP_PYTORCH_CMD ? {} : DEFAULT_PYTORCH_ENV), ...env } });
    }
  }
  return new TrainerRunners(runners);
}
