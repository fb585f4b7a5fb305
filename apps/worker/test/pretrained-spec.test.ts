/** A trial planned with pretrained weights gets the path of their content-addressed file in its trainer spec. */
import { describe, expect, it } from "vitest";
import { trainerSpecFor } from "../src/trial-processor.ts";

const SHA = "0123456789abcdef".repeat(4);
const planned = {
  architecture: "resnet18", learningRate: 1e-3, augmentations: [], stage: "search", epochs: 1, batchSize: 8, imageSize: 32,
  schedule: { stepSize: 10, gamma: 0.1 }, augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 },
  selectionMetric: "auc", task: "binary", seed: 1,
};
const claimed = (spec: Record<string, unknown>) => ({
  trialId: "t1", sweepId: "s1", teamId: "team", attempt: 1, epochsDone: 0, architecture: "resnet18", task: "binary", spec, sweepSeed: 1,
  scenario: { key: "ct/binary", modality: "ct", task: "binary", classes: ["other", "covid19"], positiveClass: "covid19" },
  datasetVersionId: "v1", datasetStoragePath: "/data/versions/v1",
});
const cfg = { workerId: "w", leaseMs: 1000, heartbeatMs: 100, maxAttempts: 3, runsDir: "/runs", cacheDir: "/cache", dataDir: "/shared/data" };

describe("trainerSpecFor with pretrained weights", () => {
  it("passes the stored file under the data root, and nothing when the trial has none", () => {
    const spec = trainerSpecFor(claimed({ ...planned, pretrainedWeights: { name: "imagenet", sha256: SHA } }), cfg);
    expect(spec.pretrained).toBe(`/shared/data/weights/${SHA}.safetensors`);
    expect(spec.pretrainedHead).toBe("replace");
    expect(spec).not.toHaveProperty("pretrainedWeights");
    expect(trainerSpecFor(claimed(planned), cfg).pretrained).toBeUndefined();
  });
});
