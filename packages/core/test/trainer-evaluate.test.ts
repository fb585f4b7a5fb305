import { describe, expect, it } from "vitest";
import { TrainerSpec } from "../src/trainer-contract.ts";

const data = {
  datasetVersionId: "v1", datasetDir: "/data/v1", cacheDir: "/cache",
  scenario: { key: "ct/binary", modality: "ct", task: "binary", classes: ["other", "covid19"], positiveClass: "covid19" },
};
const training = {
  trialId: "t", attempt: 1, seed: 1, architecture: "small_cnn", stage: "final", task: "binary", learningRate: 1e-3, augmentations: [],
  augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 }, epochs: 2, batchSize: 8, imageSize: 16,
  schedule: { stepSize: 7, gamma: 0.1 }, selectionMetric: "auc", data, checkpointDir: "/c", outputDir: "/o",
};

describe("the contract's evaluate mode", () => {
  it("is optional: a training spec without it parses as before", () => {
    expect(TrainerSpec.parse(training).evaluate).toBeUndefined();
  });
  it("carries the weights, the epoch, the images and the data the weights were trained on", () => {
    const spec = TrainerSpec.parse({ ...training, stage: "evaluate", evaluate: { weightsPath: "/o/model.json", epoch: 3, images: ["a".repeat(64)], trainedOn: data } });
    expect(spec.evaluate?.trainedOn.scenario.filters).toEqual({});
  });
  it("names a missing or empty field of the evaluate block", () => {
    const r = TrainerSpec.safeParse({ ...training, stage: "evaluate", evaluate: { weightsPath: "/o/model.json", epoch: 0, images: [], trainedOn: data } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join(".")).sort()).toEqual(["evaluate.epoch", "evaluate.images"]);
  });
});
