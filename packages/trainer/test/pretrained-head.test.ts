/**
 * spec.pretrainedHead: sweeps ask for the classifier to be replaced for the scenario's classes, even when the
 * file's classifier happens to have the scenario's shape; by default such a classifier is imported.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModel, encodeSafetensors, exportTorchvisionWeights } from "@hypersweep/models";
import { loadBackend, loadModelFromDir } from "../src/index.ts";
import { makeSpec, tempDir, removeTempDirs } from "./fixtures/spec.ts";
import { runTrial, type Tf } from "./fixtures/run.ts";
import { syntheticTrialData } from "./fixtures/synthetic-trial-data.ts";

afterAll(removeTempDirs);
let tf: Tf;
let file: string;
let head: number[];
let backbone: number[];

beforeAll(async () => {
  tf = (await loadBackend("wasm")).tf;
  // A two-class small_cnn: its classifier fits a binary scenario exactly.
  const source = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 16, seed: 99 });
  head = Array.from((await source.getLayer("fc").getWeights()[0]!.data()) as Float32Array);
  backbone = Array.from((await source.getLayer("features.3.conv").getWeights()[0]!.data()) as Float32Array);
  file = path.join(tempDir("pretrained-head"), "weights.safetensors");
  writeFileSync(file, encodeSafetensors(await exportTorchvisionWeights(source)));
  source.dispose();
});

async function trained(pretrainedHead?: "replace" | "import_if_fits") {
  // At this learning rate Adam moves no weight: the published weights are the trial's starting point.
  const spec = makeSpec({ epochs: 1, learningRate: 1e-30, pretrained: file, pretrainedHead, backend: "wasm" });
  const run = await runTrial(tf, spec, syntheticTrialData({ counts: { train: 16, valid: 8, test: 8 } }));
  expect(run.error).toBeUndefined();
  const model = await loadModelFromDir(tf, spec.outputDir);
  const got = {
    head: Array.from((await model.getLayer("fc").getWeights()[0]!.data()) as Float32Array),
    backbone: Array.from((await model.getLayer("features.3.conv").getWeights()[0]!.data()) as Float32Array),
  };
  model.dispose();
  return got;
}

describe("spec.pretrainedHead", () => {
  it("replace: the backbone is imported, the classifier starts afresh although it would fit", async () => {
    const got = await trained("replace");
    expect(got.backbone).toEqual(backbone);
    expect(got.head).toHaveLength(head.length);
    expect(got.head).not.toEqual(head);
  }, 60_000);

  it("by default a classifier of the scenario's shape is imported", async () => {
    const got = await trained();
    expect(got.backbone).toEqual(backbone);
    expect(got.head).toEqual(head);
  }, 60_000);
});
