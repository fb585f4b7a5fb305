import type * as tfTypes from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
// The trainer's loader: wasm with the training kernels (the cpu backend needs seconds per step even here).
import { loadBackend } from "../../trainer/src/backend/index.ts";
import { ARCHITECTURES } from "@hypersweep/core";
import { buildModel, countTrainableParams, ModelConfigError, MIN_IMAGE_SIZE } from "../src/index.ts";

// torchvision's trainable parameter counts for 1000 classes (sum of p.numel() for p in model.parameters()).
const TORCHVISION_PARAMS = {
  resnet18: 11_689_512,
  resnet50: 25_557_032,
  wide_resnet50_2: 68_883_240,
  densenet121: 7_978_856,
  densenet169: 14_149_480,
} as const;

let tf: typeof tfTypes;
beforeAll(async () => {
  tf = (await loadBackend("wasm")).tf;
});

describe("architectures", () => {
  for (const [arch, expected] of Object.entries(TORCHVISION_PARAMS)) {
    it(`${arch} has torchvision's ${expected} trainable parameters for 1000 classes`, () => {
      // init "zeros": counting does not need random weights (saves ~10 s for WideResNet-50-2).
      const m = buildModel(tf, arch as keyof typeof TORCHVISION_PARAMS, { numClasses: 1000, imageSize: 32, init: "zeros" });
      try {
        expect(countTrainableParams(m)).toBe(expected);
        expect(m.outputs[0]!.shape).toEqual([null, 1000]);
      } finally {
        m.dispose();
      }
    });
  }

  it("names layers after torchvision's state_dict prefixes", () => {
    const m = buildModel(tf, "resnet18", { numClasses: 3, imageSize: 32, init: "zeros" });
    const names = new Set(m.layers.map((l) => l.name));
    for (const n of ["conv1", "bn1", "layer1.0.conv1", "layer2.0.downsample.0", "layer2.0.downsample.1", "layer4.1.bn2", "fc"]) expect(names).toContain(n);
    expect(countTrainableParams(m)).toBe(11_178_051); // torch resnet18(num_classes=3)
    m.dispose();
  });

  it("builds every architecture for a small input and another class count, producing logits", () => {
    for (const arch of ARCHITECTURES) {
      const m = buildModel(tf, arch, { numClasses: 4, imageSize: MIN_IMAGE_SIZE[arch], init: "zeros" });
      expect(m.outputs[0]!.shape).toEqual([null, 4]);
      const last = m.layers[m.layers.length - 1]!;
      expect(last.getClassName()).toBe("Dense");
      expect((last.getConfig() as { activation: string }).activation).toBe("linear");
      m.dispose();
    }
  });

  it("small_cnn trains: loss drops on a fixed batch", () => {
    const m = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 16, seed: 1 });
    const x = tf.randomNormal([8, 16, 16, 3], 0, 1, "float32", 2);
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], "int32"), 2);
    const opt = tf.train.adam(0.01);
    const loss = () => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tfTypes.Tensor) as tfTypes.Scalar;
    const first = (opt.minimize(loss, true) as tfTypes.Scalar).dataSync()[0]!;
    let last = first;
    for (let i = 0; i < 15; i++) last = (opt.minimize(loss, true) as tfTypes.Scalar).dataSync()[0]!;
    expect(last).toBeLessThan(first * 0.5);
  });

  it("the same seed gives the same initial weights", () => {
    const a = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 16, seed: 7 });
    const b = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 16, seed: 7 });
    const c = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 16, seed: 8 });
    const w = (m: tfTypes.LayersModel) => Array.from(m.getLayer("features.1.conv").getWeights()[0]!.dataSync().slice(0, 20));
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(c));
  });

  it("a topology with torch-padded strided convolutions round-trips through JSON", async () => {
    const m = buildModel(tf, "resnet18", { numClasses: 3, imageSize: 33, init: "zeros" });
    const back = await tf.models.modelFromJSON({ modelTopology: m.toJSON(null, false) as tfTypes.io.ModelJSON["modelTopology"] });
    expect(back.getLayer("layer2.0.conv1").getClassName()).toBe("TorchConv2D");
    // torch: conv1 ⌊(33 + 6 − 7)/2⌋ + 1 = 17 → maxpool ⌊(17 + 2 − 3)/2⌋ + 1 = 9 → layer2 ⌊(9 + 2 − 3)/2⌋ + 1 = 5
    expect(back.getLayer("layer2.0.conv1").outputShape).toEqual([null, 5, 5, 128]);
    expect(back.outputs[0]!.shape).toEqual([null, 3]);
    m.dispose();
    back.dispose();
  });

  it("rejects bad options naming the field", () => {
    expect(() => buildModel(tf, "densenet121", { numClasses: 3, imageSize: 16 })).toThrow(/imageSize must be an integer ≥ 32 for densenet121, got 16/);
    expect(() => buildModel(tf, "small_cnn", { numClasses: 1, imageSize: 32 })).toThrow(ModelConfigError);
    expect(() => buildModel(tf, "nope" as never, { numClasses: 2, imageSize: 32 })).toThrow(/unknown architecture nope/);
  });
});
