import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, CheckpointError, loadBackend } from "../src/index.ts";
import { makeSpec, removeTempDirs } from "./fixtures/spec.ts";
import { epochs, runTrial, type Tf } from "./fixtures/run.ts";
import { syntheticTrialData } from "./fixtures/synthetic-trial-data.ts";

afterAll(removeTempDirs);

let tf: Tf;
beforeAll(async () => {
  tf = (await loadBackend("wasm")).tf;
});

const data = () => syntheticTrialData({ counts: { train: 32, valid: 16, test: 8 } });
// Every augmentation on, and a schedule step inside the run, so that PRNG, optimiser and lr state all matter.
const trialSpec = (over = {}) =>
  makeSpec({
    epochs: 4, backend: "wasm", learningRate: 3e-3, schedule: { stepSize: 3, gamma: 0.1 },
    augmentations: ["rotation", "brightness", "hflip", "center_crop", "contrast"], ...over,
  });

function floats(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-3, Math.abs(a[i]!)));
  return worst;
}

describe("checkpoint and resume", () => {
  it("4 epochs straight equal 2 epochs, a stop, and a resumed run of 2 more", async () => {
    const straight = trialSpec();
    const full = await runTrial(tf, straight, data());
    expect(full.error).toBeUndefined();

    const interrupted = trialSpec();
    const controller = new AbortController();
    const first = await runTrial(tf, interrupted, data(), {
      signal: controller.signal,
      onMessage: (m) => {
        if (m.type === "checkpoint" && m.epoch === 2) controller.abort();
      },
    });
    expect(first.error).toBeInstanceOf(CancelledError);
    expect((first.error as CancelledError).lastCheckpointEpoch).toBe(2);
    expect(epochs(first).map((e) => e.epoch)).toEqual([1, 2]);

    const before = tf.memory().numTensors;
    const second = await runTrial(tf, interrupted, data());
    expect(second.error).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before); // restoring weights and Adam state leaks nothing
    expect(second.messages[0]).toMatchObject({ type: "ready", resumedFromEpoch: 2 });
    // The resumed run first replays the checkpointed epochs (exactly as reported before), then trains on.
    expect(epochs(second).map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(epochs(second).slice(0, 2)).toEqual(epochs(first));

    const a = epochs(full);
    const b = epochs(second);
    for (let i = 0; i < 4; i++) {
      expect(b[i]!.lr).toBe(a[i]!.lr);
      expect(b[i]!.trainLoss).toBeCloseTo(a[i]!.trainLoss, 5);
      expect(b[i]!.valLoss).toBeCloseTo(a[i]!.valLoss, 5);
      for (const k of Object.keys(a[i]!.metrics)) expect(b[i]!.metrics[k]).toBeCloseTo(a[i]!.metrics[k]!, 5);
    }
    expect(second.result!.bestEpoch).toBe(full.result!.bestEpoch);
    expect(second.result!.metrics).toEqual(full.result!.metrics);
    // Final weights (all of them, BatchNorm statistics included) agree closely.
    const w = (spec: typeof straight) => floats(path.join(spec.checkpointDir, "epoch-0004", "weights.bin"));
    expect(maxRelDiff(w(straight), w(interrupted))).toBeLessThan(1e-4);
    expect(maxRelDiff(
      floats(path.join(straight.outputDir, "weights.bin")),
      floats(path.join(interrupted.outputDir, "weights.bin")),
    )).toBeLessThan(1e-4);
  });

  it("a finished trial started again resumes at its last epoch and reports the same result without training", async () => {
    const spec = trialSpec({ epochs: 1 });
    const once = await runTrial(tf, spec, data());
    const again = await runTrial(tf, spec, data());
    expect(again.messages.map((m) => m.type)).toEqual(["ready", "epoch"]); // the checkpointed epoch, replayed
    expect(again.messages[0]).toMatchObject({ resumedFromEpoch: 1 });
    expect(again.result).toEqual(once.result);
  });

  it("refuses a checkpoint directory written by another trial configuration, naming the field", async () => {
    const spec = trialSpec({ epochs: 1 });
    await runTrial(tf, spec, data());
    const other = makeSpec({ ...spec, learningRate: 1e-4, augmentations: spec.augmentations });
    const run = await runTrial(tf, other, data());
    expect(run.error).toBeInstanceOf(CheckpointError);
    expect((run.error as Error).message).toMatch(/learningRate: checkpoint 0\.003, spec 0\.0001/);
  });

  it("ignores and removes a half-written temp directory left by a crash", async () => {
    const spec = trialSpec({ epochs: 1 });
    mkdirSync(path.join(spec.checkpointDir, ".tmp-epoch-0007-123"), { recursive: true });
    writeFileSync(path.join(spec.checkpointDir, ".tmp-epoch-0007-123", "state.json"), "{trunc");
    const run = await runTrial(tf, spec, data());
    expect(run.error).toBeUndefined();
    expect(run.messages[0]).toMatchObject({ resumedFromEpoch: 0 });
    expect(readdirSync(spec.checkpointDir)).toEqual(["epoch-0001"]);
  });

  it("an abort during validation drops the unfinished epoch: no epoch message, no checkpoint of it", async () => {
    const spec = trialSpec({ epochs: 2 });
    const controller = new AbortController();
    const base = data();
    let evals = 0;
    const aborting = {
      ...base,
      trainBatches: base.trainBatches.bind(base),
      evalBatches(split: "valid" | "test", batchSize: number) {
        if (++evals === 2) controller.abort(); // during epoch 2's validation
        return base.evalBatches(split, batchSize);
      },
    };
    const run = await runTrial(tf, spec, aborting, { signal: controller.signal });
    expect(run.error).toBeInstanceOf(CancelledError);
    expect((run.error as CancelledError).lastCheckpointEpoch).toBe(1);
    expect(epochs(run).map((e) => e.epoch)).toEqual([1]);
    expect(readdirSync(spec.checkpointDir)).toEqual(["epoch-0001"]);
  });
});
