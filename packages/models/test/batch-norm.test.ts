/**
 * The fused BatchNorm training op against tfjs's own autodiff of the same computation (moments +
 * batchNorm, differentiated op by op on the cpu backend), and a whole model's gradients with the fused
 * layer against the stock tfjs-layers BatchNormalization.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadBackend } from "../../trainer/src/backend/index.ts";
import { batchNormTrainingOp, buildModel } from "../src/index.ts";

let tf: typeof tfTypes;
beforeAll(async () => {
  tf = (await loadBackend("wasm")).tf;
});

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(b[i]!)); }
  return diff / scale;
}

const seeded = (n: number, seed: number, offset = 0, scale = 1) => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * scale + offset);
};

describe("fused BatchNorm training op", () => {
  it("matches autodiff through moments + batchNorm on the cpu backend (dx, dγ, dβ)", async () => {
    const shape: [number, number, number, number] = [4, 5, 6, 7];
    const xs = seeded(4 * 5 * 6 * 7, 1, 3, 4); // mean ≠ 0 and std ≠ 1, as after a conv
    const gs = seeded(7, 2, 1), bs = seeded(7, 3), rs = seeded(xs.length, 4);
    const run = async (backend: string, fused: boolean) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const [x, g, b, r] = [tf.tensor4d(xs, shape), tf.tensor1d(gs), tf.tensor1d(bs), tf.tensor4d(rs, shape)];
        const f = (xa: tfTypes.Tensor, ga: tfTypes.Tensor, ba: tfTypes.Tensor) => {
          const { mean, variance } = tf.moments(xa, [0, 1, 2]);
          const y = fused ? batchNormTrainingOp(tf, xa, ga, ba, mean, variance, 1e-5) : tf.batchNorm(xa, mean, variance, ba, ga, 1e-5);
          return tf.sum(tf.mul(y, r));
        };
        return tf.grads(f as (...a: tfTypes.Tensor[]) => tfTypes.Tensor)([x, g, b]).map((t) => t.dataSync());
      });
    };
    const ref = await run("cpu", false);
    for (const backend of ["cpu", "wasm"]) {
      const got = await run(backend, true);
      for (let i = 0; i < 3; i++) expect(relErr(got[i]!, ref[i]!), `${backend} gradient ${["dx", "dγ", "dβ"][i]}`).toBeLessThan(1e-4);
    }
  });

  it("a model's gradients with the fused layer equal those with tfjs-layers' BatchNormalization", async () => {
    await tf.setBackend("wasm");
    const x = tf.tensor4d(seeded(6 * 16 * 16 * 3, 5), [6, 16, 16, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], "int32"), 3);
    const grads = (impl: "fused" | "layers") => {
      const m = buildModel(tf, "small_cnn", { numClasses: 3, imageSize: 16, seed: 11, batchNorm: impl });
      const { grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tfTypes.Tensor) as tfTypes.Scalar, m.trainableWeights.map((w) => w.read() as tfTypes.Variable));
      const out = m.trainableWeights.map((w) => ({ name: w.originalName, values: g[(w.read() as tfTypes.Variable).name]!.dataSync() }));
      const movingMean = m.getLayer("features.2.bn").getWeights()[2]!.dataSync();
      return { out, movingMean };
    };
    const fused = grads("fused"), stock = grads("layers");
    expect(fused.out.length).toBe(stock.out.length);
    fused.out.forEach((f, i) => expect(relErr(f.values, stock.out[i]!.values), f.name).toBeLessThan(1e-4));
    expect(relErr(fused.movingMean, stock.movingMean)).toBeLessThan(1e-5);
  });

  it("updates the running variance with the unbiased batch variance, as torch does", async () => {
    await tf.setBackend("wasm");
    const m = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 8, seed: 1 });
    const bn = m.getLayer("features.0.bn");
    const conv = m.getLayer("features.0.conv");
    const xs = tf.tensor4d(seeded(2 * 8 * 8 * 3, 9), [2, 8, 8, 3]);
    const pre = conv.apply(xs) as tfTypes.Tensor; // the BN input
    const { variance } = tf.moments(pre, [0, 1, 2]);
    const n = 2 * 8 * 8;
    m.apply(xs, { training: true });
    const want = Array.from(variance.dataSync(), (v) => 0.9 * 1 + 0.1 * v * (n / (n - 1)));
    expect(relErr(bn.getWeights()[3]!.dataSync(), want)).toBeLessThan(1e-5);
  });
});
