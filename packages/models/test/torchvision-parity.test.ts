/**
 * Layout parity with torchvision: the python side builds the torchvision model (random weights, randomised
 * BatchNorm statistics), saves its state_dict as safetensors with an input batch and its eval-mode logits;
 * we import the weights into our tf.layers model and must produce the same logits. This catches any
 * difference in padding, strides, block order, concatenation order or layout conversion.
 * Needs Debian's python3-torch/python3-torchvision (`.ci/run` installs them): skipped on a machine without them,
 * but in CI (CI=true) missing torch fails instead of skipping.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBackend } from "../../trainer/src/backend/index.ts";
import { buildModel, importTorchvisionWeights, loadSafetensors } from "../src/index.ts";
import { hasTorchvision, PYTHON, requireTorchInCi, skipWithoutTorch } from "../../../test/helpers/torch.ts";

const SCRIPT = path.join(import.meta.dirname, "torchvision_parity.py");

// Odd sizes exercise torch's floor arithmetic in every stride-2 stage.
const CASES = [["resnet18", 37], ["densenet121", 33]] as const;

let tf: typeof tfTypes;
let dir: string;
beforeAll(async () => {
  requireTorchInCi();
  tf = (await loadBackend("wasm")).tf;
  dir = await mkdtemp(path.join(tmpdir(), "hs-parity-"));
  if (hasTorchvision) execFileSync(PYTHON, [SCRIPT, dir, "5", ...CASES.map(([a, s]) => `${a}:${s}`)], { stdio: ["ignore", "ignore", "inherit"] });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe.skipIf(skipWithoutTorch)("torchvision parity", () => {
  for (const [arch, size] of CASES) {
    it(`${arch} at ${size}px gives torchvision's eval-mode logits`, async () => {
      const out = path.join(dir, arch);
      const model = buildModel(tf, arch, { numClasses: 5, imageSize: size, init: "zeros" });
      const report = importTorchvisionWeights(tf, model, await loadSafetensors(path.join(out, "weights.safetensors")), { skipHead: false });
      expect(report.unused).toEqual([]);
      const io = await loadSafetensors(path.join(out, "io.safetensors"));
      const x = io.get("x_nhwc")!;
      const got = tf.tidy(() => (model.predict(tf.tensor(x.toFloat32(), x.shape)) as tfTypes.Tensor).dataSync());
      const want = io.get("logits")!.toFloat32();
      const scale = Math.max(...Array.from(want, Math.abs));
      const maxErr = Math.max(...Array.from(want, (v, i) => Math.abs(v - got[i]!)));
      expect(maxErr / scale).toBeLessThan(1e-4);
      model.dispose();
    });
  }
});
