/**
 * The real trainer process (bin/hypersweep-trainer → src/main.ts), spoken to as the worker does: spec on stdin,
 * JSON lines on stdout. Data comes from the test fixture through HYPERSWEEP_TRIAL_DATA_MODULE.
 */
import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { TrainerMessage } from "@hypersweep/core";
import { findLatestCheckpoint, runTrainerProcess, trialFingerprint } from "../src/index.ts";
import { makeSpec, specInput, removeTempDirs } from "./fixtures/spec.ts";

afterAll(removeTempDirs);

const BIN = fileURLToPath(new URL("../bin/hypersweep-trainer", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/synthetic-trial-data.ts", import.meta.url));
const SIZES = { SYNTH_TRAIN: "32", SYNTH_VALID: "16", SYNTH_TEST: "8" };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  messages: TrainerMessage[];
  stderr: string;
}

/** Starts the trainer; `onMessage` sees each parsed stdout line as it arrives (and may signal the child). */
function trainer(
  stdin: string,
  onMessage?: (m: TrainerMessage, kill: (s: NodeJS.Signals) => void) => void,
  env: Record<string, string> = {},
): Promise<Exit> {
  const child = spawn(BIN, [], {
    env: { ...process.env, HYPERSWEEP_TRIAL_DATA_MODULE: FIXTURE, ...SIZES, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out: Exit = { code: null, signal: null, lines: [], messages: [], stderr: "" };
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      out.lines.push(line);
      // Every line must be a contract message; a line that does not parse fails the attempt (and this test).
      const m = TrainerMessage.parse(JSON.parse(line));
      out.messages.push(m);
      onMessage?.(m, (s) => child.kill(s));
    }
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => (out.stderr += c));
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ ...out, code, signal }));
  });
}

describe("trainer process", () => {
  it("answers a bad spec with one error line naming the fields, and exit code 2", async () => {
    const input = specInput({ learningRate: -1 }) as Record<string, unknown>;
    delete input.outputDir;
    const exit = await trainer(JSON.stringify({ ...input, extra: true }));
    expect(exit.code).toBe(2);
    expect(exit.messages).toHaveLength(1);
    const m = exit.messages[0]!;
    expect(m).toMatchObject({ type: "error", reason: "bad_spec" });
    const message = (m as { message: string }).message;
    expect(message).toMatch(/learningRate: /);
    expect(message).toMatch(/outputDir: /);
    expect(message).toMatch(/extra/);
    expect(exit.stderr).toContain("TRAINER_BAD_SPEC");
  });

  it("answers input that is not JSON with bad_spec and exit code 2", async () => {
    const exit = await trainer("{ not json");
    expect(exit.code).toBe(2);
    expect(exit.messages).toEqual([expect.objectContaining({ type: "error", reason: "bad_spec" })]);
  });

  it("stops on SIGTERM mid-run with `cancelled` and exit 143, leaving a checkpoint that a new attempt resumes", async () => {
    const spec = makeSpec({ epochs: 50, backend: "wasm", augmentations: ["hflip"] });
    let sent = false;
    const exit = await trainer(JSON.stringify(spec), (m, kill) => {
      if (m.type === "checkpoint" && !sent) {
        sent = true;
        kill("SIGTERM");
      }
    });
    expect(exit.code).toBe(143);
    expect(exit.messages[0]).toMatchObject({ type: "ready", backend: "wasm", resumedFromEpoch: 0 });
    expect(exit.messages.at(-1)).toMatchObject({ type: "error", reason: "cancelled" });
    expect(exit.messages.some((m) => m.type === "result")).toBe(false);
    const checkpoints = exit.messages.filter((m) => m.type === "checkpoint");
    const last = checkpoints.at(-1)!.epoch;
    expect(last).toBeGreaterThanOrEqual(1);
    expect(last).toBeLessThan(50);

    // The checkpoint on disk is the last one announced, and a new attempt of the real process continues from
    // it to a `result` line and exit 0.
    const found = await findLatestCheckpoint(spec.checkpointDir, trialFingerprint(spec));
    expect(found!.state.epoch).toBe(last);
    const again = await trainer(JSON.stringify({ ...spec, epochs: last + 1, attempt: 2 }));
    expect(again.code).toBe(0);
    // ready, the `last` checkpointed epochs replayed, then the new epoch, its checkpoint and the result.
    expect(again.messages.map((m) => m.type)).toEqual(["ready", ...Array(last).fill("epoch"), "epoch", "checkpoint", "result"]);
    expect(again.messages[0]).toMatchObject({ type: "ready", resumedFromEpoch: last });
    expect(again.messages.filter((m) => m.type === "epoch").map((m) => (m as { epoch: number }).epoch)).toEqual(Array.from({ length: last + 1 }, (_, i) => i + 1));
    expect(again.messages.at(-1)).toMatchObject({ type: "result", weightsPath: `${spec.outputDir}/model.json` });
    expect(again.stderr).toContain(`epoch ${last + 1}:`);
  }, 120_000); // two process start-ups: slow when the machine is shared, never a timing assertion

  it("trains on the wasm threads it is given (HYPERSWEEP_TRAINER_THREADS), and the threads do not change the results", async () => {
    const spec = makeSpec({ epochs: 2, backend: "wasm", architecture: "small_cnn", augmentations: ["hflip", "rotation"] });
    const [one, two] = await Promise.all([
      trainer(JSON.stringify({ ...spec, outputDir: `${spec.outputDir}-1`, checkpointDir: `${spec.checkpointDir}-1` }), undefined, { HYPERSWEEP_TRAINER_THREADS: "1" }),
      trainer(JSON.stringify({ ...spec, outputDir: `${spec.outputDir}-2`, checkpointDir: `${spec.checkpointDir}-2` }), undefined, { HYPERSWEEP_TRAINER_THREADS: "2" }),
    ]);
    expect([one.code, two.code]).toEqual([0, 0]);
    expect(one.messages[0]).toMatchObject({ type: "ready", backend: "wasm", versions: { wasmThreads: "1" } });
    expect(two.messages[0]).toMatchObject({ type: "ready", backend: "wasm", versions: { wasmThreads: "2" } });
    expect(two.stderr).toContain("backend wasm with 2 threads");
    const curve = (e: Exit) => e.messages.flatMap((m) => (m.type === "epoch" ? [[m.trainLoss, m.valLoss, m.metrics.auc]] : []));
    expect(curve(one)).toHaveLength(2);
    expect(curve(two)).toEqual(curve(one));
  }, 120_000);

  it("refuses a thread count that is not a positive integer, naming the variable (bad_spec, exit 2)", async () => {
    const exit = await trainer(JSON.stringify(makeSpec({ backend: "wasm" })), undefined, { HYPERSWEEP_TRAINER_THREADS: "two" });
    expect(exit.code).toBe(2);
    expect(exit.messages).toEqual([expect.objectContaining({ type: "error", reason: "bad_spec", message: expect.stringContaining("HYPERSWEEP_TRAINER_THREADS") })]);
  });

  it("maps a diverging trial to `error` reason diverged and exit code 1 (in-process, same code path as main.ts)", async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    stderr.resume();
    const code = await runTrainerProcess({
      stdin: PassThrough.from([JSON.stringify(makeSpec({ epochs: 2, learningRate: 1e38, backend: "wasm" }))]),
      stdout, stderr, signal: new AbortController().signal,
      env: { ...process.env, HYPERSWEEP_TRIAL_DATA_MODULE: FIXTURE, ...SIZES },
    });
    const messages = out.trim().split("\n").map((l) => TrainerMessage.parse(JSON.parse(l)));
    expect(code).toBe(1);
    expect(messages.map((m) => m.type)).toEqual(["ready", "error"]);
    expect(messages[1]).toMatchObject({ type: "error", reason: "diverged" });
  });
});
