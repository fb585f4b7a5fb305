/**
 * The trainer command: `node --import tsx packages/trainer/src/main.ts` (or packages/trainer/bin/hypersweep-trainer).
 * Reads one TrainerSpec on stdin, writes TrainerMessages on stdout (see process.ts and README.md).
 *
 * SIGTERM (or SIGINT) aborts the trial between two batches: the last completed epoch is already checkpointed, the
 * process writes `error` reason `cancelled` and exits 143. If a single step blocks longer than
 * HARD_STOP_MS after the signal, the process writes the same line and exits 143 without waiting (a half-written
 * checkpoint is only ever a temp directory, removed on the next start).
 */
import { EXIT_CODES, runTrainerProcess } from "./process.ts";

// Below the worker's default SIGKILL grace (10 s), so the `cancelled` line is written before a SIGKILL can land.
const HARD_STOP_MS = 8_000;
const controller = new AbortController();

function onSignal(name: string): void {
  if (controller.signal.aborted) return;
  process.stderr.write(`[trainer] ${name}: stopping after the current batch\n`);
  controller.abort();
  setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ type: "error", reason: "cancelled", message: `${name}: hard stop after ${HARD_STOP_MS} ms` })}\n`);
    process.exit(EXIT_CODES.cancelled);
  }, HARD_STOP_MS).unref();
}
process.on("SIGTERM", () => onSignal("SIGTERM"));
process.on("SIGINT", () => onSignal("SIGINT"));

// An orphan (its worker was killed) stops at once and writes no further checkpoint, so it never races the
// attempt that replaces it. The check runs between batches, whenever training yields to the event loop.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(EXIT_CODES.failed);
}, 500).unref();
// A closed stdout (the worker is gone) is the same news.
process.stdout.on("error", () => process.exit(EXIT_CODES.failed));

const code = await runTrainerProcess({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
// Leave as soon as stdout has drained: the wasm backend's pool threads would otherwise keep the process alive.
process.stdout.write("", () => process.exit(code));
setTimeout(() => process.exit(code), 2_000).unref();
