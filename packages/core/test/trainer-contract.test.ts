import { describe, expect, it } from "vitest";
import { Predictions, TrainerMessage } from "../src/trainer-contract.ts";

const h = (i: number) => i.toString(16).padStart(64, "0");
const valid = { images: [h(1), h(2), h(3)], labels: [0, 1, 1], probs: [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]] };
const epoch = { type: "epoch", epoch: 1, trainLoss: 0.5, valLoss: 0.4, lr: 1e-3, durationMs: 10 };

function issues(input: unknown): string[] {
  const r = Predictions.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("Predictions", () => {
  it("accepts parallel arrays of hashes, class indices and probability rows", () => {
    expect(Predictions.parse(valid)).toEqual(valid);
  });

  it("names the field and the reason when the arrays disagree", () => {
    expect(issues({ ...valid, labels: [0, 1] })).toEqual(["labels: has 2 entries for 3 images"]);
    expect(issues({ ...valid, probs: [[0.9, 0.1]] })).toEqual(["probs: has 1 rows for 3 images"]);
    expect(issues({ ...valid, probs: [[0.9, 0.1], [0.2, 0.8], [0.4, 0.5, 0.1]] })).toEqual([
      "probs.2: has 3 classes, row 0 has 2",
    ]);
    expect(issues({ ...valid, labels: [0, 2, 1] })).toEqual(["labels.1: class 2 out of range (2 classes)"]);
  });

  it("rejects what is not a sha256, a probability or a class index", () => {
    expect(issues({ ...valid, images: ["x.png", h(2), h(3)] })[0]).toMatch(/^images.0: must be the image's sha256/);
    expect(issues({ ...valid, probs: [[1.5, 0], [0.2, 0.8], [0.4, 0.6]] })[0]).toMatch(/^probs.0.0/);
    expect(issues({ ...valid, labels: [0, -1, 1] })[0]).toMatch(/^labels.1/);
    expect(issues({ ...valid, labels: [0, 0.5, 1] })[0]).toMatch(/^labels.1/);
  });
});

describe("TrainerMessage with predictions (backward compatible)", () => {
  it("still parses messages of trainers that send metrics only", () => {
    const m = TrainerMessage.parse({ ...epoch, metrics: { auc: 0.7 } });
    expect(m).toEqual({ ...epoch, metrics: { auc: 0.7 } });
    const r = TrainerMessage.parse({ type: "result", bestEpoch: 1, metrics: { auc: 0.7 }, test: { auc: 0.6 } });
    expect(r.type === "result" && r.predictions).toBeUndefined();
  });

  it("carries validation predictions on an epoch and val/test predictions on the result; metrics may go", () => {
    const m = TrainerMessage.parse({ ...epoch, predictions: valid });
    expect(m.type === "epoch" && m.predictions).toEqual(valid);
    expect(m.type === "epoch" && m.metrics).toEqual({});
    const r = TrainerMessage.parse({ type: "result", bestEpoch: 2, predictions: { val: valid, test: valid } });
    expect(r.type === "result" && r.predictions).toEqual({ val: valid, test: valid });
  });

  it("rejects an epoch whose predictions are malformed", () => {
    expect(TrainerMessage.safeParse({ ...epoch, predictions: { ...valid, labels: [0] } }).success).toBe(false);
  });
});
