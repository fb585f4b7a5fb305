/**
 * The wasm training kernels against the cpu backend's reference kernels: gradients of conv2d with respect
 * to the input and the filter (tf.grad on both backends), over strides, paddings, kernel sizes and channel
 * counts, for both kernel sets; and the pooling gradients ResNet/DenseNet need. Relative error < 1e-4
 * (max |a − b| / max |b|).
 */
import type * as tfTypes from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadBackend, registerWasmTrainingKernels, WASM_KERNEL_SETS } from "../src/backend/index.ts";

let tf: typeof tfTypes;
beforeAll(async () => {
  tf = (await loadBackend("wasm")).tf;
});

type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
const EXPLICIT: Pad = [[0, 0], [1, 2], [2, 0], [0, 0]];

function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) { diff = Math.max(diff, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(b[i]!)); }
  return diff / scale;
}

/** Seeded inputs as plain arrays, so each backend builds its own tensors. */
function data(shape: number[], seed: number): { shape: number[]; values: Float32Array } {
  let s = seed >>> 0;
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  return { shape, values };
}

/** [dx, dW] of sum(conv2d(x, w) · r) on `backend` (r: fixed random weights so that every dy differs). */
async function convGrads(backend: string, xd: ReturnType<typeof data>, wd: ReturnType<typeof data>, stride: number | [number, number], pad: Pad): Promise<[Float32Array, Float32Array]> {
  await tf.setBackend(backend);
  const [dx, dw] = tf.tidy(() => {
    const x = tf.tensor4d(xd.values, xd.shape as [number, number, number, number]);
    const w = tf.tensor4d(wd.values, wd.shape as [number, number, number, number]);
    const outShape = tf.conv2d(x, w, stride, pad).shape;
    const r = tf.tensor(data(outShape, 99).values, outShape);
    const [dx, dw] = tf.grads((a: tfTypes.Tensor, b: tfTypes.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tfTypes.Tensor4D, b as tfTypes.Tensor4D, stride, pad), r)))([x, w]);
    return [dx!.dataSync() as Float32Array, dw!.dataSync() as Float32Array];
  });
  return [dx!, dw!];
}

const CASES: Array<{ k: number; stride: number | [number, number]; pad: Pad; hw: [number, number]; cin: number; cout: number }> = [];
for (const k of [1, 3, 7]) for (const stride of [1, 2]) for (const pad of ["same", "valid", EXPLICIT] as Pad[]) {
  // Odd/even/non-square sizes and channel counts vary with the case so that no axis is silently swapped.
  const i = CASES.length;
  CASES.push({ k, stride, pad, hw: [9 + (i % 3), 8 + (i % 2) * 3], cin: [3, 8, 5][i % 3]!, cout: [4, 6, 16][(i + 1) % 3]! });
}

// Non-square strides take a separate path in the input gradient.
CASES.push({ k: 3, stride: [2, 1], pad: "same", hw: [10, 9], cin: 4, cout: 5 }, { k: 7, stride: [1, 2], pad: EXPLICIT, hw: [11, 12], cin: 3, cout: 8 });

describe.each(WASM_KERNEL_SETS)("wasm conv2d gradients (%s kernels) match the cpu backend", (set) => {
  it.each(CASES)("k=$k stride=$stride pad=$pad $hw $cin→$cout", async ({ k, stride, pad, hw, cin, cout }) => {
    registerWasmTrainingKernels(tf, set);
    const xd = data([2, hw[0], hw[1], cin], k * 31 + Number(stride)), wd = data([k, k, cin, cout], k * 17 + 5);
    const [dxCpu, dwCpu] = await convGrads("cpu", xd, wd, stride, pad);
    const [dxWasm, dwWasm] = await convGrads("wasm", xd, wd, stride, pad);
    expect(relErr(dwWasm, dwCpu)).toBeLessThan(1e-4);
    expect(relErr(dxWasm, dxCpu)).toBeLessThan(1e-4);
  });
});

describe.each(WASM_KERNEL_SETS)("wasm pooling gradients used by ResNet/DenseNet (%s kernels) match the cpu backend", (set) => {
  const cases = [
    { name: "max pool 3×3 stride 2 (ResNet/DenseNet stem)", f: (x: tfTypes.Tensor4D) => tf.maxPool(x, 3, 2, "valid") },
    { name: "max pool 3×3 stride 2 'same', with ties (ReLU zeros)", f: (x: tfTypes.Tensor4D) => tf.maxPool(tf.relu(x), 3, 2, "same") },
    // Only for our kernel: the shipped wasm MaxPoolGrad disagrees with cpu on overlapping stride-1 windows
    // (not used by our architectures).
    ...(set === "optimised" ? [{ name: "max pool 2×2 stride 1", f: (x: tfTypes.Tensor4D) => tf.maxPool(x, 2, 1, "valid") }] : []),
    { name: "avg pool 2×2 stride 2 (DenseNet transition)", f: (x: tfTypes.Tensor4D) => tf.avgPool(x, 2, 2, "valid") },
    { name: "global average pooling (head)", f: (x: tfTypes.Tensor4D) => tf.mean(x, [1, 2]) },
  ];
  it.each(cases)("$name", async ({ f }) => {
    registerWasmTrainingKernels(tf, set);
    const xd = data([2, 11, 10, 6], 7);
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(xd.values, xd.shape as [number, number, number, number]);
        const out = f(x);
        const r = tf.tensor(data(out.shape, 3).values, out.shape);
        return tf.grad((a: tfTypes.Tensor) => tf.sum(tf.mul(f(a as tfTypes.Tensor4D), r)))(x).dataSync() as Float32Array;
      });
    };
    expect(relErr(await grad("wasm"), await grad("cpu"))).toBeLessThan(1e-4);
  });
});

describe.each(WASM_KERNEL_SETS)("wasm split and the concat gradient (DenseNet) (%s kernels) match the cpu backend", (set) => {
  const shape = [2, 5, 4, 11];
  const cases = [
    { name: "sizes along channels [3, 6, 2]", split: [3, 6, 2], axis: 3 },
    { name: "sizes with -1 along channels [4, -1]", split: [4, -1], axis: -1 },
    { name: "one channel per part (11 parts)", split: 11, axis: 3 },
    { name: "along rows (the shipped kernel's case)", split: [2, 3], axis: 1 },
  ];
  it.each(cases)("tf.split: $name", async ({ split, axis }) => {
    registerWasmTrainingKernels(tf, set);
    const xd = data(shape, 21);
    const parts = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => tf.split(tf.tensor(xd.values, shape), split, axis).map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
    };
    expect(await parts("wasm")).toEqual(await parts("cpu"));
  });

  it("the gradient of a channel concat of three tensors (each part's share of dy)", async () => {
    registerWasmTrainingKernels(tf, set);
    const ins = [data([2, 3, 3, 4], 1), data([2, 3, 3, 7], 2), data([2, 3, 3, 1], 3)];
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const xs = ins.map((d) => tf.tensor(d.values, d.shape));
        const r = tf.tensor(data([2, 3, 3, 12], 4).values, [2, 3, 3, 12]);
        return tf.grads((...a: tfTypes.Tensor[]) => tf.sum(tf.mul(tf.concat(a, 3), r)))(xs).map((g) => Array.from(g.dataSync()));
      });
    };
    expect(await grads("wasm")).toEqual(await grads("cpu"));
  });
});

describe("the wasm training kernels do not leak", () => {
  it("tensors and data buffers are the same after each conv training step (both kernel sets)", async () => {
    await tf.setBackend("wasm");
    for (const set of WASM_KERNEL_SETS) {
      registerWasmTrainingKernels(tf, set);
      const x = tf.tensor4d(data([2, 9, 9, 3], 1).values, [2, 9, 9, 3]);
      const w1 = tf.variable(tf.tensor4d(data([3, 3, 3, 4], 2).values, [3, 3, 3, 4]));
      const w2 = tf.variable(tf.tensor4d(data([3, 3, 4, 5], 3).values, [3, 3, 4, 5]));
      const opt = tf.train.sgd(0.01);
      const step = () => opt.minimize(() => tf.sum(tf.maxPool(tf.conv2d(tf.relu(tf.conv2d(x, w1, 2, [[0, 0], [1, 1], [1, 1], [0, 0]])), w2, 1, "same"), 3, 2, "same")));
      step();
      const before = tf.memory();
      step();
      step();
      expect([tf.memory().numTensors, tf.memory().numDataBuffers]).toEqual([before.numTensors, before.numDataBuffers]);
      tf.dispose([x, w1, w2]);
      opt.dispose();
    }
  });
});
