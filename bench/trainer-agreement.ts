/**
 * Do the two trainers agree? The same small sweep (small_cnn: learning rates × augmentation subsets, one seed)
 * trained by the TensorFlow.js trainer and by the PyTorch trainer on one synthesised dataset, each trial through
 * the worker's ProcessRunner, each epoch scored as the worker scores it (packages/metrics on the reported
 * probabilities) and each trial's best epoch chosen by the trainer under core's rule. Reported: every
 * configuration's validation AUC under both, the rank correlation, each trainer's winner, and whether they agree:
 * the same winner, or each winner within the stated tolerance of the best AUC under the other trainer.
 *
 *   npx tsx bench/trainer-agreement.ts [--images 1200] [--size 32] [--epochs 4] [--threads 2] [--tolerance 0.05]
 *       [--out bench/results/trainer-agreement.md]
 */
import { rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { TrainerSpec, type Augmentation, type TrainerSpecInput } from "@hypersweep/core";
import { scoreEpoch } from "../apps/worker/src/scoring.ts";
import { benchDataset, median, runTrial } from "./trainer-runs.ts";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const IMAGES = Number(arg("images", "1200")), SIZE = Number(arg("size", "32")), EPOCHS = Number(arg("epochs", "4"));
const THREADS = Number(arg("threads", "2")), TOLERANCE = Number(arg("tolerance", "0.05"));
const OUT = arg("out", "bench/results/trainer-agreement.md");
const RATES = [1e-2, 1e-3, 1e-4];
const SUBSETS: Augmentation[][] = [[], ["hflip", "contrast"], ["rotation", "brightness", "center_crop"]];
const log = (...a: unknown[]) => console.error(new Date().toISOString().slice(11, 19), ...a);

interface Scored { auc: number | null; valLoss: number; bestEpoch: number; wallMs: number }

function ranks(xs: number[]): number[] {
  const order = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

function spearman(a: number[], b: number[]): number {
  const ra = ranks(a), rb = ranks(b);
  const ma = ra.reduce((s, v) => s + v, 0) / ra.length, mb = rb.reduce((s, v) => s + v, 0) / rb.length;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

/** The winner: highest AUC, then lower validation loss (core's order for a binary sweep, AUC first). */
const winner = (xs: Scored[]) => xs.reduce((w, x, i) => ((x.auc ?? -1) > (xs[w]!.auc ?? -1) || ((x.auc ?? -1) === (xs[w]!.auc ?? -1) && x.valLoss < xs[w]!.valLoss) ? i : w), 0);

async function main() {
  const load0 = loadavg();
  const ds = await benchDataset(IMAGES, SIZE, 21);
  log("dataset", ds.counts);
  const configs = RATES.flatMap((lr) => SUBSETS.map((augs) => ({ lr, augs })));
  const scored: Record<"tfjs" | "pytorch", Scored[]> = { tfjs: [], pytorch: [] };
  for (const [i, c] of configs.entries()) {
    for (const trainer of (i % 2 ? ["pytorch", "tfjs"] : ["tfjs", "pytorch"]) as ("tfjs" | "pytorch")[]) {
      const dir = join(ds.root, `${trainer}-${i}`);
      const input: TrainerSpecInput = {
        trialId: `agree-${i}`, attempt: 1, seed: 11, architecture: "small_cnn", stage: "search", task: "binary",
        learningRate: c.lr, augmentations: c.augs, augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 },
        epochs: EPOCHS, batchSize: 32, imageSize: SIZE, schedule: { stepSize: 7, gamma: 0.1 }, selectionMetric: "auc",
        data: ds.data, checkpointDir: join(dir, "ckpt"), outputDir: join(dir, "out"),
      };
      const r = await runTrial(trainer, input, THREADS);
      const best = scoreEpoch(TrainerSpec.parse(input), r.epochs.find((e) => e.epoch === r.result.bestEpoch)!);
      scored[trainer].push({ auc: best.metrics.auc ?? null, valLoss: best.valLoss, bestEpoch: r.result.bestEpoch, wallMs: r.wallMs });
      rmSync(dir, { recursive: true, force: true });
      log(`config ${i + 1}/${configs.length}`, trainer, `lr ${c.lr}`, `[${c.augs.join(",")}]`, `auc ${best.metrics.auc}`, `best epoch ${r.result.bestEpoch}`);
    }
  }
  rmSync(ds.root, { recursive: true, force: true });
  writeFileSync(OUT, report(ds.counts, configs, scored, load0, loadavg()));
  log("wrote", OUT);
}

function report(counts: { train: number; valid: number }, configs: { lr: number; augs: Augmentation[] }[], s: Record<"tfjs" | "pytorch", Scored[]>, load0: number[], load1: number[]): string {
  const auc = (x: Scored) => x.auc ?? NaN;
  const wt = winner(s.tfjs), wp = winner(s.pytorch);
  const diffs = configs.map((_, i) => Math.abs(auc(s.tfjs[i]!) - auc(s.pytorch[i]!)));
  const rho = spearman(s.tfjs.map(auc), s.pytorch.map(auc));
  const bestT = auc(s.tfjs[wt]!), bestP = auc(s.pytorch[wp]!);
  const crossOk = bestT - auc(s.tfjs[wp]!) <= TOLERANCE && bestP - auc(s.pytorch[wt]!) <= TOLERANCE;
  const name = (i: number) => `lr ${configs[i]!.lr}, [${configs[i]!.augs.join(", ") || "none"}]`;
  return [
    "# Trainer agreement: the same sweep trained by both trainers",
    "",
    `- Date: ${new Date().toISOString()}; machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}; load average ${load0.map((v) => v.toFixed(1)).join(" ")} at start, ${load1.map((v) => v.toFixed(1)).join(" ")} at end`,
    `- Command: \`npx tsx bench/trainer-agreement.ts ${process.argv.slice(2).join(" ")}\``,
    `- Sweep: small_cnn, ${SIZE} × ${SIZE}, batch 32, ${EPOCHS} epochs, seed 11, learning rates ${RATES.join(", ")} × augmentation subsets ${SUBSETS.map((a) => `[${a.join(", ") || "none"}]`).join(", ")}; ${counts.train} training and ${counts.valid} validation images (synthesised CT, binary). Each trial's best epoch by validation AUC (core's rule), scored as the worker scores it.`,
    `- Tolerance: the winners agree when they are the same configuration, or when each trainer's winner scores within ${TOLERANCE} AUC of the best under the other trainer.`,
    "",
    "| configuration | tfjs AUC (best epoch) | pytorch AUC (best epoch) | |Δ| |",
    "| --- | ---: | ---: | ---: |",
    ...configs.map((_, i) => `| ${name(i)} | ${auc(s.tfjs[i]!).toFixed(3)} (${s.tfjs[i]!.bestEpoch}) | ${auc(s.pytorch[i]!).toFixed(3)} (${s.pytorch[i]!.bestEpoch}) | ${diffs[i]!.toFixed(3)} |`),
    "",
    `- Winner, tfjs: ${name(wt)} (AUC ${bestT.toFixed(3)}); pytorch: ${name(wp)} (AUC ${bestP.toFixed(3)}). ${wt === wp ? "The same configuration." : `Different configurations; under the other trainer they score ${auc(s.tfjs[wp]!).toFixed(3)} (tfjs) and ${auc(s.pytorch[wt]!).toFixed(3)} (pytorch): ${crossOk ? "within" : "NOT within"} the tolerance.`}`,
    `- Spearman rank correlation of the nine AUCs: ${rho.toFixed(2)}; median |Δ AUC| ${median(diffs).toFixed(3)}, max ${Math.max(...diffs).toFixed(3)}.`,
    `- Median whole-trial wall time: tfjs ${(median(s.tfjs.map((x) => x.wallMs)) / 1000).toFixed(1)} s, pytorch ${(median(s.pytorch.map((x) => x.wallMs)) / 1000).toFixed(1)} s.`,
    "",
  ].join("\n");
}

await main();
