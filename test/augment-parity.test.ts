/**
 * The five augmentations are the same in both trainers: the same batch and the same seeded stream through the
 * TensorFlow.js trainer's augmentBatch (wasm backend, @hypersweep/data/tf) and the PyTorch trainer's
 * augment_batch give the same images (float32 rounding apart) and leave the stream at the same state.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { AUGMENTATIONS, mulberry32, type Augmentation } from "@hypersweep/core";
import { augmentBatch } from "@hypersweep/data/tf";
import { loadBackend, Mulberry32 } from "@hypersweep/trainer";
import { PYTHON, requireTorchInCi, skipWithoutTorch } from "./helpers/torch.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SHAPE = [6, 16, 16, 3] as const;
const PARAMS = { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 };

function python(x: Float32Array, cases: { augmentations: readonly Augmentation[]; seed: number }[]): { y: Float32Array; rngState: number }[] {
  const out = execFileSync(PYTHON, [path.join(REPO, "test/fixtures/python_augment_probe.py")], {
    input: JSON.stringify({ x: Buffer.from(x.buffer).toString("base64"), shape: SHAPE, params: PARAMS, cases }),
    env: { ...process.env, PYTHONPATH: path.join(REPO, "trainers/pytorch") },
  });
  return (JSON.parse(out.toString("utf8")) as { y: string; rngState: number }[]).map((r) => {
    const b = Buffer.from(r.y, "base64");
    return { y: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), rngState: r.rngState };
  });
}

describe("augmentations in both trainers", () => {
  beforeAll(() => requireTorchInCi());

  it.skipIf(skipWithoutTorch)("give the same images from the same seed, one augmentation at a time and all five", async () => {
    const { tf } = await loadBackend("wasm");
    const rand = mulberry32(3);
    // A smooth image plus noise, so that resampling errors would show.
    const x = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i / 37) + (rand() - 0.5));
    const cases = ([...AUGMENTATIONS.map((a) => [a]), [...AUGMENTATIONS]] as Augmentation[][]).map((augmentations, i) => ({ augmentations, seed: 1234 + i }));
    const answers = python(x, cases);
    for (const [k, { augmentations: augs, seed }] of cases.entries()) {
      const rng = new Mulberry32(seed);
      const y = tf.tidy(() => augmentBatch(tf, tf.tensor4d(x, [...SHAPE]), augs, PARAMS, rng).dataSync() as Float32Array);
      const py = answers[k]!;
      expect(py.rngState, `${augs.join("+")}: stream position`).toBe(rng.state);
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - py.y[i]!));
      expect(worst, `${augs.join("+")}: largest difference`).toBeLessThan(1e-4);
      // Something happened (hflip may leave an image unflipped, not all six).
      let moved = 0;
      for (let i = 0; i < y.length; i++) moved = Math.max(moved, Math.abs(y[i]! - x[i]!));
      expect(moved, `${augs.join("+")}: changed the batch`).toBeGreaterThan(1e-3);
    }
  });
});
