/**
 * Which epoch a final training keeps, before and after the epoch rule (issue 10 §1), on the synthetic
 * Data-Stock-shaped dataset the demo uses: small_cnn trained for up to --epochs epochs (no augmentation), the
 * weights of every epoch kept aside, then both rules replayed over the recorded validation epochs with early
 * stopping (--patience):
 *   old: the best epoch is the first at the maximum of the selection metric (ties never improve);
 *   new: a rise by more than minDelta, or a tie (within minDelta) with a lower validation loss.
 * Each rule's epoch is scored on the test set from its own saved weights (metrics with 95% bootstrap intervals).
 * Training is seeded, so the trajectory up to either stopping point is the one early stopping would have run.
 *
 *   npx tsx bench/epoch-rule.ts [--images 600] [--size 32] [--epochs 30] [--patience 10] [--lr 1e-3] [--out bench/results/epoch-rule.md]
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { bestEpochOf, EarlyStopping, TrainerSpec, type EpochRecord, type SelectionMetric, type Task } from "@hypersweep/core";
import { importDataset, resolveScenario, synthDataset } from "@hypersweep/data";
import { loadBackend, loadModelFromDir, openTrialDataFor, trainTrial } from "../packages/trainer/src/index.ts";
import { predictSplit, testReport } from "../packages/trainer/src/evaluate.ts";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const IMAGES = Number(arg("images", "600"));
const SIZE = Number(arg("size", "32"));
const EPOCHS = Number(arg("epochs", "30"));
const PATIENCE = Number(arg("patience", "10"));
const LR = Number(arg("lr", "1e-3"));
const OUT = arg("out", "bench/results/epoch-rule.md");
const SCENARIOS: Array<{ modality: "ct" | "radiograph"; task: Task; metric: SelectionMetric }> = [
  { modality: "ct", task: "binary", metric: "auc" },
  { modality: "radiograph", task: "multiclass", metric: "f1" },
];

/** The rule before issue 10: the first epoch at the maximum; patience counts epochs without a strict rise. */
function oldRule(epochs: EpochRecord[], metric: SelectionMetric, patience: number) {
  const es = new EarlyStopping({ mode: "max", patience });
  for (const e of epochs) if (es.update(e.epoch, e.metrics[metric]).stop) return { bestEpoch: es.state.bestEpoch, stoppedAt: e.epoch };
  return { bestEpoch: es.state.bestEpoch, stoppedAt: null };
}

const f3 = (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "–");
const ci = (t: { metrics: Record<string, number | null>; intervals: Record<string, { lower: number; upper: number } | null> }, k: string) =>
  `${f3(t.metrics[k])} (${f3(t.intervals[k]?.lower)}–${f3(t.intervals[k]?.upper)})`;

async function main() {
  const work = mkdtempSync(join(tmpdir(), "hs-epoch-rule-"));
  const { tf } = await loadBackend("wasm");
  const lines = [
    `# Epoch rule: the epoch a final training keeps, before and after`,
    ``,
    `\`npx tsx bench/epoch-rule.ts --images ${IMAGES} --size ${SIZE} --epochs ${EPOCHS} --patience ${PATIENCE} --lr ${LR}\` — ${cpus().length} × ${cpus()[0]?.model ?? "?"}, wasm backend.`,
    `Synthetic dataset (${IMAGES} images, seed 1), small_cnn at ${SIZE} px, lr ${LR}, no augmentation, early stopping with patience ${PATIENCE}; test metrics of each rule's kept weights, 95% bootstrap intervals.`,
    ``,
    `| scenario | metric | rule | kept epoch | stopped after | val metric | val loss | test AUC | test F1 | test accuracy |`,
    `|---|---|---|---|---|---|---|---|---|---|`,
  ];
  try {
    await synthDataset(join(work, "src"), { images: IMAGES, size: 48, seed: 1 });
    const version = await importDataset(join(work, "src"), { dataRoot: join(work, "data") });
    for (const sc of SCENARIOS) {
      const scenario = resolveScenario(version.rows, { modality: sc.modality, task: sc.task });
      const dir = join(work, `${sc.modality}-${sc.task}`);
      const spec = TrainerSpec.parse({
        trialId: `bench-${sc.modality}-${sc.task}`, attempt: 1, seed: 2020, architecture: "small_cnn", stage: "final", task: sc.task,
        learningRate: LR, augmentations: [], augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 },
        epochs: EPOCHS, batchSize: 16, imageSize: SIZE, schedule: { stepSize: 7, gamma: 0.1 }, selectionMetric: sc.metric,
        data: {
          datasetVersionId: version.contentHash, datasetDir: version.storagePath, cacheDir: join(work, "cache"),
          scenario: { key: scenario.key, modality: sc.modality, task: sc.task, classes: scenario.classes, positiveClass: "covid19" },
        },
        checkpointDir: join(dir, "checkpoints"), outputDir: join(dir, "output"), backend: "wasm",
      });
      const data = await openTrialDataFor(spec, {});
      const epochs: EpochRecord[] = [];
      await trainTrial(spec, data, {
        tf,
        emit: (m) => {
          if (m.type === "epoch") epochs.push(m);
          // Keep every epoch's weights (the trainer prunes all but the newest and the best).
          if (m.type === "checkpoint") cpSync(m.path, join(dir, "every", String(m.epoch)), { recursive: true });
        },
      });
      const ctx = { task: sc.task, classes: scenario.classes, positiveClass: "covid19" };
      const picks = { old: oldRule(epochs, sc.metric, PATIENCE), new: bestEpochOf(epochs, sc.metric, { task: sc.task, patience: PATIENCE }) };
      for (const [rule, pick] of Object.entries(picks)) {
        const model = await loadModelFromDir(tf, join(dir, "every", String(pick.bestEpoch)));
        const report = testReport(await predictSplit(tf, model, data, "test", 32), ctx, 2020);
        model.dispose();
        const e = epochs.find((x) => x.epoch === pick.bestEpoch)!;
        lines.push(`| ${scenario.key} (test n = ${report.n}) | ${sc.metric} | ${rule} | ${pick.bestEpoch} | ${pick.stoppedAt ?? `${EPOCHS} (max)`} | ${f3(e.metrics[sc.metric])} | ${f3(e.valLoss)} | ${ci(report, "auc")} | ${ci(report, "f1")} | ${ci(report, "accuracy")} |`);
        process.stderr.write(`${lines.at(-1)}\n`);
      }
      const trace = epochs.map((e) => `${e.epoch}: ${f3(e.metrics[sc.metric])}/${f3(e.valLoss)}`).join(", ");
      lines.push(`| | | epochs (${sc.metric} / val loss) | ${trace} | | | | | | |`);
      await data.close?.();
    }
    await writeFile(OUT, `${lines.join("\n")}\n`);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
