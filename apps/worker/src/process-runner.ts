import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { isRetryableReason, TrainerMessage } from "@hypersweep/core";
import type { RunOutcome, TrialRun, TrialRunner } from "./runner.ts";

export interface ProcessRunnerOptions {
  /** argv of the trainer command. */
  command: string[];
  /** Working directory of the trainer. */
  cwd?: string;
  /** Grace after SIGTERM before SIGKILL, ms. @defaultValue 10000 */
  killGraceMs?: number;
  /** Environment added to every trainer (over this process's own). */
  env?: Record<string, string>;
}

/** Splits a command line on white space, honouring simple single and double quotes. */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(cmd); m; m = re.exec(cmd)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const STDERR_TAIL = 4000;

/**
 * Runs one trial in its own process. Training blocks the thread that runs it, so it never runs on the
 * worker's event loop (which must keep renewing locks and leases). A crash fails the attempt, not the worker.
 */
export class ProcessRunner implements TrialRunner {
  constructor(private readonly opts: ProcessRunnerOptions) {
    if (opts.command.length === 0) throw new Error("ProcessRunner: the trainer command is empty");
  }

  run(run: TrialRun): Promise<RunOutcome> {
    const [bin, ...args] = this.opts.command;
    const child = spawn(bin, args, {
      cwd: this.opts.cwd,
      env: { ...process.env, ...this.opts.env, ...run.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL);
    });
    child.stdin.on("error", () => {}); // a trainer that exits before reading its spec is reported by its exit
    child.stdin.end(JSON.stringify(run.spec));

    let killTimer: NodeJS.Timeout | null = null;
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), this.opts.killGraceMs ?? 10_000);
      killTimer.unref();
    };
    if (run.signal.aborted) stop();
    run.signal.addEventListener("abort", stop, { once: true });

    return new Promise<RunOutcome>((resolve) => {
      let outcome: RunOutcome | null = null;
      let chain = Promise.resolve();
      const lines = createInterface({ input: child.stdout });
      lines.on("line", (line) => {
        if (!line.trim() || outcome) return;
        let msg: TrainerMessage;
        try {
          const parsed = TrainerMessage.safeParse(JSON.parse(line));
          if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".") || "(message)"}: ${i.message}`).join("; "));
          msg = parsed.data;
        } catch (err) {
          outcome = { kind: "error", reason: "protocol", message: `trainer wrote a line that is not a valid message (${(err as Error).message}): ${JSON.stringify(line.slice(0, 500))}`, retryable: true };
          stop();
          return;
        }
        if (msg.type === "result") outcome = { kind: "result", result: msg };
        if (msg.type === "error") outcome = { kind: "error", reason: msg.reason, message: msg.message, retryable: isRetryableReason(msg.reason) };
        chain = chain.then(() => run.onMessage(msg)).catch((err) => {
          outcome ??= { kind: "error", reason: "internal", message: (err as Error).message, retryable: true };
          stop();
        });
      });
      child.on("error", (err) => {
        outcome ??= { kind: "error", reason: "spawn", message: `could not start the trainer '${bin}': ${err.message}`, retryable: true };
      });
      child.on("close", (code, signal) => {
        if (killTimer) clearTimeout(killTimer);
        run.signal.removeEventListener("abort", stop);
        lines.close();
        void chain.then(() => {
          if (outcome && !(outcome.kind === "result" && code !== 0)) return resolve(outcome);
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const tail = stderr.trim().split("\n").slice(-5).join("\n");
          resolve({ kind: "error", reason: run.signal.aborted ? "cancelled" : "crashed", message: `trainer ${how}${outcome ? " after its result" : " without a result"}${tail ? `; stderr: ${tail}` : ""}`, retryable: true });
        });
      });
    });
  }
}
