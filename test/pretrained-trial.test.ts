/**
 * A trial starts from imported torchvision weights. torchvision (Debian's python3-torchvision) writes a
 * randomly initialised ResNet-18 with randomised BatchNorm parameters and its own 1000-class head; the file is
 * imported with the CLI as a user would, a sweep names it, a worker trains the trial with the real trainer at a
 * learning rate too small for Adam to move any weight, and the trained model's first-batch features (training
 * mode, before the head that is replaced for the scenario's two classes) equal torchvision's on the same batch.
 * Needs Debian's python3-torch and python3-torchvision (`.ci/run` installs them): skipped on a machine without
 * them, but in CI (CI=true) missing torch fails instead of skipping.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type * as tfTypes from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModel, loadSafetensors } from "../packages/models/src/index.ts";
import { loadBackend } from "../packages/trainer/src/backend/index.ts";
import { loadModelFromDir } from "../packages/trainer/src/weights-io.ts";
import { DEFAULT_TRAINER_CMD } from "../apps/worker/src/main.ts";
import { eventually, ROOT, startStack, type Stack } from "./helpers/stack.ts";
import { PYTHON, requireTorchInCi, skipWithoutTorch } from "./helpers/torch.ts";

const run = promisify(execFile);
// 48 px leaves layer4 a 2 × 2 map: training-mode BatchNorm there normalises over 16 values per channel, not 4.
const SIZE = 48;

describe.skipIf(skipWithoutTorch)("a trial started from torchvision weights", () => {
  let s: Stack;
  let out: string;
  let tf: typeof tfTypes;
  const cli = (args: string[]) =>
    run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), ...args], { cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey } });

  beforeAll(async () => {
    requireTorchInCi();
    s = await startStack("pretrained", { images: 160 });
    out = join(s.tmp, "torchvision");
    await run(PYTHON, [join(ROOT, "test/fixtures/torchvision_pretrained.py"), out, "resnet18", String(SIZE)]);
    tf = (await loadBackend("wasm")).tf;
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  it("imports them with the CLI, and the trial's first-batch features are torchvision's", async () => {
    const file = join(out, "weights.safetensors");
    const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
    const imported = await cli(["weights", "import", file, "--arch", "resnet18", "--name", "imagenet", "--no-progress"]);
    expect(imported.stdout).toContain(`weights imagenet for resnet18`);
    expect(imported.stdout).toContain(`sha256 ${sha256}, 122 tensors`);
    const listed = await cli(["weights", "list"]);
    expect(listed.stdout).toMatch(new RegExp(`imagenet\\s+resnet18\\s+${sha256.slice(0, 16)}\\s+46\\.8 MB\\s+122`));

    await s.startWorker({ HYPERSWEEP_TRAINER_CMD: DEFAULT_TRAINER_CMD.join(" "), HYPERSWEEP_BACKEND: "wasm", HYPERSWEEP_LEASE_MS: "30000", HYPERSWEEP_HEARTBEAT_MS: "2000" });
    const sweep = await s.http("POST", "/v1/sweeps", {
      dataset: "stock",
      scenario: { modality: "ct", task: "binary" },
      architectures: ["resnet18"],
      seed: 5,
      // Adam moves a weight by about the learning rate per step: at 1e-30 none changes, so the trained model is
      // the imported one (BatchNorm running statistics aside, which training-mode features do not use).
      overrides: { learningRates: [1e-30], subsetsPerRate: 1, augmentations: ["hflip"], searchEpochs: 1, imageSize: SIZE, batchSize: 16, pretrained: { resnet18: "imagenet" }, final: false },
    });
    expect(sweep.status).toBe(201);
    const trialId = (await s.http("GET", `/v1/sweeps/${sweep.body.id}/trials`)).body.trials[0].id;
    const trial = await eventually(async () => {
      const t = (await s.http("GET", `/v1/trials/${trialId}`)).body;
      return ["succeeded", "failed"].includes(t.status) ? t : null;
    }, 540_000, 500);
    expect(trial.error).toBeNull();
    expect(trial.status).toBe("succeeded");
    expect(trial.spec.pretrainedWeights).toEqual({ name: "imagenet", sha256 });

    const model = await loadModelFromDir(tf, dirname(trial.weightsPath));
    // The head was replaced for the scenario's two classes (torchvision's has 1000).
    expect(model.getLayer("fc").getWeights()[0]!.shape).toEqual([512, 2]);
    const io = await loadSafetensors(join(out, "io.safetensors"));
    const x = io.get("x_nhwc")!;
    const want = io.get("features_train")!.toFloat32();
    const relErr = (m: tfTypes.LayersModel) => {
      const features = tf.model({ inputs: m.inputs, outputs: m.getLayer("avgpool").output as tfTypes.SymbolicTensor });
      const got = tf.tidy(() => (features.apply(tf.tensor(x.toFloat32(), x.shape), { training: true }) as tfTypes.Tensor).dataSync());
      expect(got.length).toBe(want.length);
      const scale = Math.max(...Array.from(want, Math.abs));
      return Math.max(...Array.from(want, (v, i) => Math.abs(v - got[i]!))) / scale;
    };
    // Float32 on both sides, batch statistics over few values: equal to a few parts in 10^4.
    expect(relErr(model)).toBeLessThan(1e-3);
    // The same architecture from its own initialisation is nowhere near: the comparison can tell.
    const fresh = buildModel(tf, "resnet18", { numClasses: 2, imageSize: SIZE, seed: 1 });
    expect(relErr(fresh)).toBeGreaterThan(0.1);
    fresh.dispose();
    model.dispose();
  }, 600_000);
});
