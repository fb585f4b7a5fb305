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

/** Debian's interpreter (the `python3` first on PATH may be another one); HYPERSWEEP_TORCH_PYTHON overrides it. */
const PYTHON = process.env.HYPERSWEEP_TORCH_PYTHON || "/usr/bin/python3";
const IN_CI = /^(true|1)$/i.test(process.env.CI ?? "");
const SCRIPT = path.join(import.meta.dirname, "torchvision_parity.py");
const hasTorch = (() => {
  try {
    // find_spec locates the packages without importing torch (which takes seconds).
    const code = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('torchvision') else 1)";
    execFileSync(PYTHON, ["-c", code], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

// Odd sizes exercise torch's floor arithmetic in every stride-2 stage.
const CASES = [["resnet18", 37], ["densenet121", 33]] as const;

let tf: typeof tfTypes;
let dir: string;
beforeAll(async () => {
  if (!hasTorch && IN_CI) throw new Error(`CI=${process.env.CI} and ${PYTHON} cannot find torch and torchvision: install Debian's python3-torch and python3-torchvision (.ci/run does)`);
  tf = (await loadBackend("wasm")).tf;
  dir = await mkdtemp(path.join(tmpdir(), "hs-parity-"));
  if (hasTorch) execFileSync(PYTHON, [SCRIPT, dir, "5", ...CASES.map(([a, s]) => `${a}:${s}`)], { stdio: ["ignore", "ignore", "inherit"] });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe.skipIf(!hasTorch && !IN_CI)("torchvision parity", () => {
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
