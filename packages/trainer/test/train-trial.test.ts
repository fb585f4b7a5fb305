import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bestEpochOf, TrainerMessage } from "@hypersweep/core";
import { buildModel, encodeSafetensors, exportTorchvisionWeights } from "@hypersweep/models";
import { BadSpecError, DivergedError, loadBackend, loadModelFromDir, PretrainedWeightsError } from "../src/index.ts";
import { predictSplit, evaluateSplit } from "../src/evaluate.ts";
import { makeSpec, tempDir, removeTempDirs } from "./fixtures/spec.ts";
import { epochs, runTrial, type Tf } from "./fixtures/run.ts";
import { syntheticTrialData } from "./fixtures/synthetic-trial-data.ts";

afterAll(removeTempDirs);

const ALL_AUGMENTATIONS = ["rotation", "brightness", "hflip", "center_crop", "contrast"] as const;
let tf: Tf;

beforeAll(async () => {
  tf = (await loadBackend("wasm")).tf;
});

describe("trainTrial (search stage)", () => {
  it("learns a separable task, reports every epoch, leaks no tensors and publishes the best epoch's weights", async () => {
    const spec = makeSpec({ epochs: 3, augmentations: [...ALL_AUGMENTATIONS], backend: "wasm" });
    const data = syntheticTrialData({ counts: { train: 48, valid: 24, test: 16 } });
    const tensorsAtCheckpoint: number[] = [];
    const before = tf.memory().numTensors;
    const run = await runTrial(tf, spec, data, {
      onMessage: (m) => {
        if (m.type === "checkpoint") tensorsAtCheckpoint.push(tf.memory().numTensors);
      },
    });
    expect(run.error).toBeUndefined();
    for (const m of run.messages) expect(TrainerMessage.safeParse(m).success).toBe(true);
    expect(run.messages.map((m) => m.type)).toEqual(["ready", "epoch", "checkpoint", "epoch", "checkpoint", "epoch", "checkpoint"]);
    expect(run.messages[0]).toMatchObject({ type: "ready", resumedFromEpoch: 0 });

    const eps = epochs(run);
    expect(eps.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(eps.every((e) => e.lr === 1e-3)).toBe(true);
    const finalAuc = eps.at(-1)!.metrics.auc!;
    expect(finalAuc).toBeGreaterThan(0.9);

    // No leak: the live tensor count is the same after every epoch, and back to the start once the trial ends.
    expect(tensorsAtCheckpoint[1]).toBe(tensorsAtCheckpoint[0]);
    expect(tensorsAtCheckpoint[2]).toBe(tensorsAtCheckpoint[0]);
    expect(tf.memory().numTensors).toBe(before);

    // The result is the best epoch by AUC under the epoch rule (ties: the lower loss), and its weights are what
    // was published.
    const best = eps.find((e) => e.epoch === bestEpochOf(eps, "auc", { task: "binary" }).bestEpoch)!;
    const bestAuc = best.metrics.auc!;
    expect(run.result).toMatchObject({ type: "result", bestEpoch: best.epoch, metrics: { ...best.metrics, valLoss: best.valLoss } });
    expect(run.result!.weightsPath).toBe(path.join(spec.outputDir, "model.json"));
    const model = await loadModelFromDir(tf, spec.outputDir);
    const pred = await predictSplit(tf, model, data, "valid", 8);
    expect(pred.loss).toBeCloseTo(best.valLoss, 4);
    expect(evaluateSplit(pred, { task: "binary", classes: data.classes, positiveClass: "COVID-19" }).metrics.auc).toBeCloseTo(bestAuc, 6);
    model.dispose();

    // Only the newest and the best checkpoints are kept.
    const kept = readdirSync(spec.checkpointDir).sort();
    expect(kept).toEqual([...new Set([`epoch-${String(best.epoch).padStart(4, "0")}`, "epoch-0003"])].sort());
  });

  it("follows the step schedule: the reported lr drops by gamma every stepSize epochs", async () => {
    const spec = makeSpec({ epochs: 3, schedule: { stepSize: 1, gamma: 0.5 }, learningRate: 0.01, backend: "wasm" });
    const run = await runTrial(tf, spec, syntheticTrialData({ counts: { train: 16, valid: 8, test: 8 } }));
    expect(run.error).toBeUndefined();
    expect(epochs(run).map((e) => e.lr)).toEqual([0.01, 0.005, 0.0025]);
  });

  it("rejects an image size the architecture cannot take as a bad spec naming imageSize", async () => {
    const run = await runTrial(tf, makeSpec({ architecture: "densenet121", imageSize: 16 }), syntheticTrialData({ imageSize: 16 }));
    expect(run.error).toBeInstanceOf(BadSpecError);
    expect((run.error as BadSpecError).reason).toBe("bad_spec");
    expect((run.error as BadSpecError).issues[0]!.path).toBe("imageSize");
    expect(run.messages).toEqual([]);
  });

  it("stops with DivergedError when the loss turns NaN", async () => {
    // With BatchNorm, even lr 1e6 keeps the loss finite (~1e13); 1e38 overflows float32 in the first epoch.
    const spec = makeSpec({ epochs: 3, learningRate: 1e38, backend: "wasm" });
    const before = tf.memory().numTensors;
    const run = await runTrial(tf, spec, syntheticTrialData({ counts: { train: 32, valid: 8, test: 8 } }));
    expect(run.error).toBeInstanceOf(DivergedError);
    expect((run.error as DivergedError).reason).toBe("diverged");
    expect(run.result).toBeUndefined();
    expect(epochs(run)).toHaveLength(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("trainTrial (final stage)", () => {
  it("stops early after `patience` epochs without improvement, keeps the best epoch and evaluates the test split", async () => {
    const spec = makeSpec({
      stage: "final", epochs: 8, earlyStopping: { patience: 1, minDelta: 0 }, evaluateTest: true, backend: "wasm",
      task: "multiclass", selectionMetric: "f1",
      data: {
        ...makeSpec().data,
        scenario: { key: "ct-multi", modality: "ct", task: "multiclass", classes: ["healthy", "COVID-19", "pneumonia"], positiveClass: "COVID-19" },
      },
    });
    const data = syntheticTrialData({ classes: ["healthy", "COVID-19", "pneumonia"], counts: { train: 48, valid: 24, test: 30 } });
    const run = await runTrial(tf, spec, data);
    expect(run.error).toBeUndefined();
    const eps = epochs(run);
    const result = run.result!;
    // Early stopping: the run ends exactly `patience` epochs after the best one, before the maximum.
    expect(eps.length).toBeLessThan(8);
    expect(eps.length).toBe(result.bestEpoch + 1);
    expect(result.bestEpoch).toBe(bestEpochOf(eps, "f1", { task: "multiclass", patience: 1 }).bestEpoch);
    for (const e of eps) expect(Object.keys(e.metrics).sort()).toEqual(["accuracy", "auc", "f1", "macroAuc", "macroF1", "precision", "recall"]);

    const test = result.test as {
      n: number; metrics: Record<string, number | null>; confusionMatrix: number[][];
      intervals: Record<string, { estimate: number; lower: number; upper: number } | null>;
    };
    expect(test.n).toBe(30);
    expect(test.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(30);
    expect(test.confusionMatrix.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([10, 10, 10]); // rows = true class
    for (const key of ["auc", "f1", "precision", "recall", "accuracy", "macroAuc"]) {
      const ci = test.intervals[key]!;
      expect(ci.estimate).toBeCloseTo(test.metrics[key]!, 9);
      expect(ci.lower).toBeLessThanOrEqual(ci.estimate);
      expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate);
    }
    expect(existsSync(path.join(spec.outputDir, "weights.bin"))).toBe(true);
  });
});

describe("trainTrial with spec.pretrained", () => {
  async function writePretrained(mutate?: (m: Map<string, { shape: number[]; data: Float32Array }>) => void): Promise<{ file: string; kernel: Float32Array }> {
    const source = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 16 });
    const tensors = await exportTorchvisionWeights(source);
    const kernel = Float32Array.from((await source.getLayer("features.0.conv").getWeights()[0]!.data()) as Float32Array);
    source.dispose();
    mutate?.(tensors);
    const file = path.join(tempDir("pretrained"), "weights.safetensors");
    writeFileSync(file, encodeSafetensors(tensors));
    return { file, kernel };
  }

  it("starts from the imported torchvision-named weights", async () => {
    const { file, kernel } = await writePretrained();
    // A learning rate so small that Adam cannot move a weight: the published weights are the imported ones.
    const spec = makeSpec({ epochs: 1, learningRate: 1e-30, pretrained: file, backend: "wasm" });
    const run = await runTrial(tf, spec, syntheticTrialData({ counts: { train: 16, valid: 8, test: 8 } }));
    expect(run.error).toBeUndefined();
    const model = await loadModelFromDir(tf, spec.outputDir);
    const got = (await model.getLayer("features.0.conv").getWeights()[0]!.data()) as Float32Array;
    expect(Array.from(got)).toEqual(Array.from(kernel));
    model.dispose();
  });

  it("fails with reason `data` naming the tensor whose shape does not fit", async () => {
    const { file } = await writePretrained((m) => {
      const t = m.get("features.0.conv.weight")!;
      m.set("features.0.conv.weight", { shape: [t.shape[0]! * 2, ...t.shape.slice(1)], data: new Float32Array(t.data.length * 2) });
    });
    const run = await runTrial(tf, makeSpec({ epochs: 1, pretrained: file, backend: "wasm" }), syntheticTrialData({ counts: { train: 16, valid: 8, test: 8 } }));
    expect(run.error).toBeInstanceOf(PretrainedWeightsError);
    expect((run.error as PretrainedWeightsError).reason).toBe("data");
    expect((run.error as Error).message).toContain("features.0.conv.weight");
  });
});
