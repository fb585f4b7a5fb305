import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AugmentationParams } from "@hypersweep/core";
import { augmentBatch, drawAugmentations, type UniformSource } from "../src/tf/index.ts";

const S = 16;
const PARAMS: AugmentationParams = { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.5 };

/** Replays fixed uniforms, so the drawn parameters are known exactly. */
function sequence(values: number[]): UniformSource {
  let i = 0;
  return {
    next() {
      if (i >= values.length) throw new Error("sequence exhausted");
      return values[i++]!;
    },
  };
}

function mulberry(seed: number): UniformSource {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** A non-symmetric test image: value = row * S + col (+ channel offset), so any geometric move is visible. */
function ramp(n = 1): tf.Tensor4D {
  const v = new Float32Array(n * S * S * 3);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < S; r++)
      for (let c = 0; c < S; c++)
        for (let ch = 0; ch < 3; ch++) v[((b * S + r) * S + c) * 3 + ch] = (r * S + c) / (S * S) + ch * 0.1 + b;
  return tf.tensor4d(v, [n, S, S, 3]);
}

/** A centred bright square of side `side` (value 1) on 0. */
function centredSquare(side: number): tf.Tensor4D {
  const v = new Float32Array(S * S * 3);
  const lo = (S - side) / 2;
  for (let r = lo; r < lo + side; r++) for (let c = lo; c < lo + side; c++) for (let ch = 0; ch < 3; ch++) v[(r * S + c) * 3 + ch] = 1;
  return tf.tensor4d(v, [1, S, S, 3]);
}

function at(x: tf.Tensor4D, b: number, r: number, c: number, ch = 0): number {
  return (x.arraySync() as number[][][][])[b]![r]![c]![ch]!;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

const require = createRequire(import.meta.url);
let wasmReady = false;
beforeAll(async () => {
  setWasmPaths(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + path.sep);
  wasmReady = await tf.setBackend("wasm");
});
afterAll(() => tf.disposeVariables());

// The geometric path differs per backend (cpu resamples image by image around a tfjs kernel bug): test both.
describe.each(["cpu", "wasm"])("augmentations on the %s backend", (backend) => {
  beforeAll(async () => {
    if (backend === "wasm" && !wasmReady) throw new Error("wasm backend did not initialise");
    await tf.setBackend(backend);
  });

  it("hflip with a heads draw gives the exact mirror, and a tails draw leaves the image alone", () => {
    const x = ramp(2);
    const y = augmentBatch(tf, x, ["hflip"], PARAMS, sequence([0.1, 0.9])); // image 0 flipped, image 1 not
    const mirror = tf.reverse(x, 2);
    expect(maxAbsDiff(y.slice([0], [1]), mirror.slice([0], [1]))).toBeLessThan(1e-5);
    expect(maxAbsDiff(y.slice([1], [1]), x.slice([1], [1]))).toBeLessThan(1e-5);
    tf.dispose([x, y, mirror]);
  });

  it("rotation by 0 degrees is the identity", () => {
    const x = ramp(2);
    const y = augmentBatch(tf, x, ["rotation"], { ...PARAMS, rotationDegrees: 0 }, sequence([0.3, 0.8]));
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-5);
    tf.dispose([x, y]);
  });

  it("rotation by +90 degrees turns the content counter-clockwise, for every image of the batch", () => {
    const x = ramp(2);
    // u = 1 → θ = +90° for both images.
    const y = augmentBatch(tf, x, ["rotation"], PARAMS, sequence([1, 1]));
    for (const b of [0, 1]) {
      // Counter-clockwise: output (r, c) shows input (c, S−1−r); e.g. the top-right corner moves to the top-left.
      for (const [r, c] of [[0, 0], [3, 11], [15, 2]] as const) {
        expect(at(y, b, r, c)).toBeCloseTo(at(x, b, c, S - 1 - r), 4);
      }
    }
    tf.dispose([x, y]);
  });

  it("brightness shifts each image's mean by u · brightness · (max − min)", () => {
    const x = ramp(2);
    const y = augmentBatch(tf, x, ["brightness"], PARAMS, sequence([1, 0.25])); // u = +1, then u = −0.5
    const range = (S * S - 1) / (S * S) + 0.2; // ramp rows/cols plus the channel offsets
    const meanShift = tf.tidy(() => tf.sub(tf.mean(y, [1, 2, 3]), tf.mean(x, [1, 2, 3])).arraySync() as number[]);
    expect(meanShift[0]).toBeCloseTo(1 * 0.2 * range, 4);
    expect(meanShift[1]).toBeCloseTo(-0.5 * 0.2 * range, 4);
    tf.dispose([x, y]);
  });

  it("contrast keeps each image's mean and scales its spread by the drawn factor", () => {
    const x = ramp(2);
    const y = augmentBatch(tf, x, ["contrast"], PARAMS, sequence([1, 0])); // factors 1.2 and 0.8
    const [mx, my] = [tf.mean(x, [1, 2, 3]), tf.mean(y, [1, 2, 3])];
    expect(maxAbsDiff(mx, my)).toBeLessThan(1e-5);
    const spread = (t: tf.Tensor4D) => tf.tidy(() => tf.sqrt(tf.moments(t, [1, 2, 3]).variance).arraySync() as number[]);
    const [sx, sy] = [spread(x), spread(y)];
    expect(sy[0]! / sx[0]!).toBeCloseTo(1.2, 4);
    expect(sy[1]! / sx[1]!).toBeCloseTo(0.8, 4);
    tf.dispose([x, y, mx, my]);
  });

  it("center crop of a centred square enlarges it by 1/fraction and is applied without drawing randomness", () => {
    const x = centredSquare(4); // 16 bright pixels per channel
    const y = augmentBatch(tf, x, ["center_crop"], PARAMS, sequence([])); // fraction 0.5: no draw needed
    const bright = (t: tf.Tensor) => tf.tidy(() => tf.sum(tf.greater(t.slice([0, 0, 0, 0], [1, S, S, 1]), 0.5)).dataSync()[0]!);
    expect(bright(x)).toBe(16);
    expect(bright(y)).toBeGreaterThanOrEqual(49); // ≈ (4 / 0.5)² = 64 minus the interpolated border
    expect(bright(y)).toBeLessThanOrEqual(64);
    expect(at(y, 0, S / 2, S / 2)).toBeCloseTo(1, 5); // still centred
    expect(at(y, 0, 0, 0)).toBeCloseTo(0, 5);
    tf.dispose([x, y]);
  });

  it("leaks no tensors and returns a new tensor even when nothing is selected", () => {
    const x = ramp(3);
    const before = tf.memory().numTensors;
    const y = augmentBatch(tf, x, ["rotation", "brightness", "hflip", "center_crop", "contrast"], PARAMS, mulberry(7));
    expect(tf.memory().numTensors).toBe(before + 1);
    const z = augmentBatch(tf, x, [], PARAMS, mulberry(7));
    expect(z).not.toBe(x);
    z.dispose();
    expect(maxAbsDiff(x, x)).toBe(0); // x still alive
    tf.dispose([x, y]);
  });
});

describe("drawAugmentations", () => {
  it("is reproducible from the rng state and stays inside the configured ranges", () => {
    const all = ["rotation", "brightness", "hflip", "center_crop", "contrast"] as const;
    const a = drawAugmentations(1000, all, PARAMS, mulberry(42));
    expect(drawAugmentations(1000, all, PARAMS, mulberry(42))).toEqual(a);
    expect(drawAugmentations(1000, all, PARAMS, mulberry(43))).not.toEqual(a);
    for (const d of a) {
      expect(Math.abs(d.rotationDegrees!)).toBeLessThanOrEqual(90);
      expect(Math.abs(d.brightnessU!)).toBeLessThanOrEqual(1);
      expect(d.contrastFactor!).toBeGreaterThanOrEqual(0.8);
      expect(d.contrastFactor!).toBeLessThanOrEqual(1.2);
      expect(d.cropFraction).toBe(0.5);
    }
    const flips = a.filter((d) => d.flip).length / a.length;
    expect(flips).toBeGreaterThan(0.44); // p = 0.5: ±3.8σ for 1000 draws
    expect(flips).toBeLessThan(0.56);
    const maxAngle = Math.max(...a.map((d) => d.rotationDegrees!));
    const minAngle = Math.min(...a.map((d) => d.rotationDegrees!));
    expect(maxAngle).toBeGreaterThan(85); // spans the whole ±90° interval
    expect(minAngle).toBeLessThan(-85);
  });

  it("draws nothing for augmentations that are off", () => {
    expect(drawAugmentations(3, ["hflip"], PARAMS, sequence([0.7, 0.2, 0.6]))).toEqual([{ flip: false }, { flip: true }, { flip: false }]);
  });
});
