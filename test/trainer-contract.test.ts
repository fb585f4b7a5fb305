/**
 * The trainer contract (packages/core/src/trainer-contract.ts), one suite run against every trainer: the
 * TensorFlow.js trainer and the PyTorch trainer, each spoken to as the worker does. Tiny synthesised data
 * (small_cnn, 16 px, 1–3 epochs, one thread). Under CI=true the PyTorch cases fail when torch is missing.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bestEpochOf, mulberry32, TrainerSpec, type TrainerMessage } from "@hypersweep/core";
import { ensureCache } from "@hypersweep/data";
import { encodeSafetensors } from "@hypersweep/models";
import { scoreEpoch } from "../apps/worker/src/scoring.ts";
import { contractDataset, contractSpec, epochsOf, orphanTrainer, runTrainer, trajectory, TRAINERS, type ContractDataset } from "./helpers/trainer-process.ts";
import { requireTorchInCi, skipWithoutTorch } from "./helpers/torch.ts";

let ds: ContractDataset;
beforeAll(async () => {
  ds = await contractDataset();
  await ensureCache(ds.versionDir, 16, path.join(ds.root, "cache"));
});
afterAll(() => ds?.cleanup());

const types = (ms: TrainerMessage[]) => ms.map((m) => m.type);
const hashes = (split: "valid" | "test") => ds.scenario.rowIndices[split].map((i) => ds.rows[i]!.sha256);

/**
 * small_cnn weights in torchvision names. By default the head is a bias alone that makes every prediction
 * `covid19` when imported; `readsFeatures` gives it random weights on the features instead.
 */
function smallCnnWeights(omit?: string, readsFeatures = false): Uint8Array {
  const rand = mulberry32(5);
  const t = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, shape: number[], f: () => number) => {
    if (name !== omit) t.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f) });
  };
  let cin = 3;
  [16, 32, 64, 128].forEach((w, i) => {
    put(`features.${i}.conv.weight`, [w, cin, 3, 3], () => (rand() - 0.5) * 0.4);
    put(`features.${i}.bn.weight`, [w], () => 1);
    put(`features.${i}.bn.bias`, [w], () => 0);
    put(`features.${i}.bn.running_mean`, [w], () => 0);
    put(`features.${i}.bn.running_var`, [w], () => 1);
    cin = w;
  });
  put("fc.weight", [2, 128], () => (readsFeatures ? (rand() - 0.5) * 2 : 0));
  let k = 0;
  put("fc.bias", [2], () => (readsFeatures ? 0 : k++ === 0 ? -10 : 10));
  return encodeSafetensors(t);
}

describe.each(TRAINERS)("the $name trainer", (trainer) => {
  const skip = trainer.name === "pytorch" && skipWithoutTorch;
  const dirs: string[] = [];
  const workDir = () => {
    const d = mkdtempSync(path.join(ds.root, `${trainer.name}-`));
    dirs.push(d);
    return d;
  };
  const spec = (over: Parameters<typeof contractSpec>[2] = {}) => contractSpec(ds, workDir(), over);
  const run = (s: unknown, on?: Parameters<typeof runTrainer>[2]) => runTrainer(trainer, typeof s === "string" ? s : JSON.stringify(s), on);
  beforeAll(() => {
    if (trainer.name === "pytorch") requireTorchInCi();
  });
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it.skipIf(skip)("answers ready, then epoch and checkpoint per epoch, then result; probabilities the worker scores; evaluate mode scores the published weights", async () => {
    const s = spec({ stage: "final", epochs: 2, earlyStopping: { patience: 3, minDelta: 0 }, evaluateTest: true });
    const r = await run(s);
    expect(r.stderr.slice(-2000) && r.code).toBe(0);
    expect(types(r.messages)).toEqual(["ready", "epoch", "checkpoint", "epoch", "checkpoint", "result"]);
    const epochs = epochsOf(r);
    expect(epochs.map((e) => [e.epoch, e.lr])).toEqual([[1, 0.01], [2, 0.005]]);
    const parsed = TrainerSpec.parse(s);
    const stored = epochs.map((e) => {
      expect(e.predictions!.images).toEqual(hashes("valid"));
      expect(e.predictions!.labels).toEqual(ds.scenario.labels.valid);
      for (const row of e.predictions!.probs) expect(Math.abs(row[0]! + row[1]! - 1)).toBeLessThan(1e-5);
      const scored = scoreEpoch(parsed, e);
      for (const [k, v] of Object.entries(e.metrics)) {
        if (v === null) expect(scored.metrics[k]).toBeNull();
        else expect(scored.metrics[k]).toBeCloseTo(v, 12);
      }
      return scored;
    });
    // Stored epochs look the same whichever trainer ran: the worker's scorer, the same metric names.
    for (const e of stored) expect(Object.keys(e.metrics).sort()).toEqual(["accuracy", "auc", "f1", "macroF1", "precision", "recall"]);
    const result = r.messages.at(-1) as Extract<TrainerMessage, { type: "result" }>;
    // The trainer keeps the epoch the worker's own scoring and core's epoch rule choose.
    expect(result.bestEpoch).toBe(bestEpochOf(stored, "auc", { task: "binary" }).bestEpoch);
    expect(result.predictions!.test!.images).toEqual(hashes("test"));
    expect(result.predictions!.val!.images).toEqual(hashes("valid"));
    expect(existsSync(result.weightsPath!)).toBe(true);
    const checkpoints = r.messages.filter((m) => m.type === "checkpoint");
    expect(checkpoints.map((c) => c.epoch)).toEqual([1, 2]);

    // Evaluate mode scores the published weights: the same probabilities as the training's own test pass.
    const images = [...hashes("test")].reverse();
    const ev = await run({
      ...spec(), stage: "evaluate",
      evaluate: { weightsPath: result.weightsPath!, epoch: result.bestEpoch, images, trainedOn: s.data },
    });
    expect(ev.code).toBe(0);
    expect(types(ev.messages)).toEqual(["ready", "result"]);
    const scored = ev.messages[1] as Extract<TrainerMessage, { type: "result" }>;
    expect(scored.bestEpoch).toBe(result.bestEpoch);
    expect(scored.predictions!.test!.images).toEqual(images);
    const trained = result.predictions!.test!;
    scored.predictions!.test!.probs.forEach((row, i) => {
      const j = trained.images.indexOf(images[i]!);
      expect(scored.predictions!.test!.labels[i]).toBe(trained.labels[j]);
      row.forEach((p, c) => expect(p).toBeCloseTo(trained.probs[j]![c]!, 5));
    });
  });

  it.skipIf(skip)("trains a multiclass scenario: one column per class, the epoch the worker's scores choose, its own metrics equal to the worker's", async () => {
    const classes = ["healthy", "covid19", "fungal"];
    const base = contractSpec(ds, workDir());
    const s = { ...base, task: "multiclass" as const, selectionMetric: "f1" as const, epochs: 2, data: { ...base.data, scenario: { ...base.data.scenario, key: "ct/multiclass", task: "multiclass" as const, classes } } };
    const r = await run(s);
    expect(r.code, r.stderr.slice(-1000)).toBe(0);
    const parsed = TrainerSpec.parse(s);
    const stored = epochsOf(r).map((e) => {
      expect(e.predictions!.probs.every((row) => row.length === 3)).toBe(true);
      const scored = scoreEpoch(parsed, e);
      expect(Object.keys(scored.metrics).sort()).toEqual(["accuracy", "auc", "f1", "macroAuc", "macroF1", "precision", "recall"]);
      // What the trainer chose its best epoch by is what the worker stores.
      for (const [k, v] of Object.entries(e.metrics)) {
        if (v === null) expect(scored.metrics[k]).toBeNull();
        else expect(scored.metrics[k]).toBeCloseTo(v, 12);
      }
      return scored;
    });
    const result = r.messages.at(-1) as Extract<TrainerMessage, { type: "result" }>;
    expect(result.bestEpoch).toBe(bestEpochOf(stored, "f1", { task: "multiclass" }).bestEpoch);
  });

  it.skipIf(skip)("is deterministic per seed on one thread, and resumes after SIGKILL replaying the checkpointed epochs", async () => {
    const base = { epochs: 3 };
    const whole = await run(spec(base));
    expect(whole.code).toBe(0);
    const s = spec(base);
    const killed = await run(s, (m, signal) => m.type === "checkpoint" && m.epoch === 1 && signal("SIGKILL"));
    expect(killed.signal).toBe("SIGKILL");
    const resumed = await run(s);
    expect(resumed.code).toBe(0);
    expect(resumed.messages[0]).toMatchObject({ type: "ready", resumedFromEpoch: 1 });
    const epochs = epochsOf(resumed);
    // Every epoch once: the checkpointed one replayed, the rest trained; none lost.
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const strip = ({ predictions: _p, ...e }: ReturnType<typeof trajectory>) => e;
    expect(strip(trajectory(epochs[0]!))).toEqual(strip(trajectory(epochsOf(killed)[0]!)));
    // The same seed gives the same run, interrupted or not (weights, Adam state and augmentation stream restored).
    expect(epochsOf(killed).map(trajectory)).toEqual(epochsOf(whole).slice(0, 1).map(trajectory));
    expect(epochs.slice(1).map(trajectory)).toEqual(epochsOf(whole).slice(1).map(trajectory));
    expect(resumed.messages.at(-1)).toMatchObject({ type: "result", bestEpoch: (whole.messages.at(-1) as { bestEpoch: number }).bestEpoch });
  });

  it.skipIf(skip)("stops on SIGTERM within the worker's grace, answering cancelled after its last checkpoint", async () => {
    const s = spec({ epochs: 500 });
    const r = await run(s, (m, signal) => m.type === "checkpoint" && m.epoch === 1 && signal("SIGTERM"));
    expect(r.code).toBe(143);
    expect(r.afterSignalMs).toBeLessThan(10_000); // the worker's default SIGKILL grace
    expect(r.messages.at(-1)).toMatchObject({ type: "error", reason: "cancelled" });
    expect(types(r.messages)).not.toContain("result");
    const last = r.messages.filter((m) => m.type === "checkpoint").at(-1)!;
    expect(readdirSync(s.checkpointDir)).toContain(`epoch-${String(last.epoch).padStart(4, "0")}`);
  });

  it.skipIf(skip)("exits by itself when its parent (the worker) dies", async () => {
    const s = spec({ epochs: 500 });
    const r = await orphanTrainer(trainer, JSON.stringify(s), (m) => m.type === "checkpoint", 5_000);
    expect(r.messages.map((m) => m.type)).toContain("checkpoint");
    expect(r.exited).toBe(true);
  });

  it.skipIf(skip)("answers a bad spec with bad_spec naming the field (exit 2)", async () => {
    const notJson = await run("{ not json");
    expect(notJson.code).toBe(2);
    expect(notJson.messages).toMatchObject([{ type: "error", reason: "bad_spec" }]);
    const bad = await run({ ...spec(), learningRate: -1 });
    expect(bad.code).toBe(2);
    expect(bad.messages).toHaveLength(1);
    expect(bad.messages[0]).toMatchObject({ type: "error", reason: "bad_spec", message: expect.stringContaining("learningRate") });
  });

  it.skipIf(skip)("answers a missing image with reason data", async () => {
    const own = await contractDataset(24, 9);
    try {
      rmSync(path.join(own.versionDir, "images", own.rows[0]!.fileName));
      const r = await run(contractSpec(own, workDir()));
      expect(r.code).toBe(1);
      expect(r.messages.at(-1)).toMatchObject({ type: "error", reason: "data" });
      expect(types(r.messages)).not.toContain("epoch");
    } finally {
      own.cleanup();
    }
  });

  it.skipIf(skip)("answers a diverging trial (huge learning rate) with reason diverged", async () => {
    const r = await run(spec({ learningRate: 1e38, epochs: 2 }));
    expect(r.code).toBe(1);
    expect(r.messages.at(-1)).toMatchObject({ type: "error", reason: "diverged" });
    expect(types(r.messages)).not.toContain("result");
  });

  it.skipIf(skip)("starts from torchvision-named safetensors: head imported when it fits, replaced when asked; a missing tensor is reason data", async () => {
    const dir = workDir();
    const file = path.join(dir, "small_cnn.safetensors");
    writeFileSync(file, smallCnnWeights());
    const pretrained = (head: "replace" | "import_if_fits") =>
      run(spec({ epochs: 1, learningRate: 1e-30, augmentations: [], pretrained: file, pretrainedHead: head }));
    const imported = await pretrained("import_if_fits");
    expect(imported.code).toBe(0);
    const covid = (r: typeof imported) => epochsOf(r)[0]!.predictions!.probs.map((p) => p[1]!);
    expect(Math.min(...covid(imported))).toBeGreaterThan(0.999); // the file's head (bias +10 for covid19) is in use
    const replaced = await pretrained("replace");
    expect(replaced.code).toBe(0);
    expect(Math.min(...covid(replaced))).toBeLessThan(0.99);
    const broken = path.join(dir, "broken.safetensors");
    writeFileSync(broken, smallCnnWeights("features.2.conv.weight"));
    const r = await run(spec({ epochs: 1, pretrained: broken }));
    expect(r.code).toBe(1);
    expect(r.messages.at(-1)).toMatchObject({ type: "error", reason: "data", message: expect.stringContaining("features.2.conv.weight") });
  });
});

describe("both trainers on the same weights", () => {
  it.skipIf(skipWithoutTorch)("give the same validation probabilities: same model, data order, normalisation and BatchNorm updates", async () => {
    requireTorchInCi();
    const dir = mkdtempSync(path.join(ds.root, "same-"));
    const file = path.join(dir, "small_cnn.safetensors");
    // A head that reads the features (not only its bias), so that any difference upstream shows.
    writeFileSync(file, smallCnnWeights(undefined, true));
    const probs = await Promise.all(TRAINERS.map(async (t) => {
      const s = contractSpec(ds, mkdtempSync(path.join(dir, `${t.name}-`)), { epochs: 1, learningRate: 1e-30, augmentations: [], pretrained: file, pretrainedHead: "import_if_fits" });
      const r = await runTrainer(t, JSON.stringify(s));
      expect(r.code, r.stderr.slice(-1000)).toBe(0);
      return epochsOf(r)[0]!.predictions!.probs.map((p) => p[1]!);
    }));
    const [tfjs, torch] = probs as [number[], number[]];
    expect(Math.max(...tfjs) - Math.min(...tfjs)).toBeGreaterThan(0.05); // the images are told apart
    tfjs.forEach((p, i) => expect(Math.abs(p - torch[i]!)).toBeLessThan(1e-4));
  });
});
