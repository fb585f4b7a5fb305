/**
 * Whole trials through the worker path, side by side: the TensorFlow.js trainer, the PyTorch trainer, and bare
 * torchvision (bench/torch_trial.py: the same model, data, batch, epochs and Adam as a plain loop). Rounds are
 * interleaved (the order rotated each round), so the shared machine's noise hits every runner alike; ratios are
 * taken within a round, then the median.
 *
 *   npx tsx bench/trainer-trial.ts [--models small_cnn,resnet18] [--images 400] [--size 64] [--batch 32]
 *       [--epochs 4] [--rounds 3] [--threads 2] [--aug none|all] [--no-tfjs] [--out bench/results/trainer-trial.md]
 *
 * Per runner: whole-trial wall time (spawn → exit: interpreter, framework import, data, every epoch, checkpoints,
 * result), and training throughput = training images per epoch ÷ the median epoch time (an epoch is the
 * training pass plus the validation pass, as each trainer's `epoch.durationMs` measures it; with 3+ epochs the
 * first, which pays the one-time warm-up, is left out).
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { benchDataset, median, PYTHON, runTrial, type BenchDataset } from "./trainer-runs.ts";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const MODELS = arg("models", "small_cnn,resnet18").split(",") as ("small_cnn" | "resnet18")[];
const IMAGES = Number(arg("images", "400")), SIZE = Number(arg("size", "64")), BATCH = Number(arg("batch", "32"));
const EPOCHS = Number(arg("epochs", "4")), ROUNDS = Number(arg("rounds", "3")), THREADS = Number(arg("threads", "2"));
const AUG = arg("aug", "none") === "all" ? ["rotation", "brightness", "hflip", "center_crop", "contrast"] as const : [];
const TFJS = !process.argv.includes("--no-tfjs");
const OUT = arg("out", "bench/results/trainer-trial.md");
const log = (...a: unknown[]) => console.error(new Date().toISOString().slice(11, 19), ...a);

interface Sample { wallMs: number; epochMs: number }

/** The median epoch after the first (which also pays the framework's one-time warm-up), when there are 3+. */
const steady = (epochs: number[]) => median(epochs.length >= 3 ? epochs.slice(1) : epochs);
type Runner = "tfjs trainer" | "pytorch trainer" | "bare torchvision";

async function trainerSample(ds: BenchDataset, which: "tfjs" | "pytorch", arch: string, round: number): Promise<Sample> {
  const dir = join(ds.root, `${which}-${arch}-${round}`);
  const r = await runTrial(which, {
    trialId: `${which}-${arch}-${round}`, attempt: 1, seed: 1, architecture: arch as "small_cnn", stage: "search", task: "binary",
    learningRate: 1e-3, augmentations: [...AUG], augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 },
    epochs: EPOCHS, batchSize: BATCH, imageSize: SIZE, schedule: { stepSize: 7, gamma: 0.1 }, selectionMetric: "auc",
    data: ds.data, checkpointDir: join(dir, "ckpt"), outputDir: join(dir, "out"),
  }, THREADS);
  rmSync(dir, { recursive: true, force: true });
  return { wallMs: r.wallMs, epochMs: steady(r.epochs.map((e) => e.durationMs)) };
}

function bareSample(ds: BenchDataset, arch: string): Sample {
  const started = performance.now();
  const out = execFileSync(PYTHON, ["bench/torch_trial.py", ds.cachePath, String(SIZE), JSON.stringify(ds.pairs.train), JSON.stringify(ds.pairs.valid), arch, String(BATCH), String(EPOCHS), String(THREADS)], { encoding: "utf8" });
  const r = JSON.parse(out) as { epochs: number[] };
  return { wallMs: performance.now() - started, epochMs: steady(r.epochs) * 1000 };
}

async function main() {
  const load0 = loadavg();
  const ds = await benchDataset(IMAGES, SIZE);
  log("dataset", ds.counts);
  const runners: Runner[] = [...(TFJS ? ["tfjs trainer" as const] : []), "pytorch trainer", "bare torchvision"];
  const results: Record<string, Record<Runner, Sample[]>> = {};
  for (const arch of MODELS) {
    const byRunner = (results[arch] = Object.fromEntries(runners.map((r) => [r, []])) as unknown as Record<Runner, Sample[]>);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < runners.length; k++) {
        const who = runners[(k + round) % runners.length]!;
        const s = who === "bare torchvision" ? bareSample(ds, arch) : await trainerSample(ds, who === "tfjs trainer" ? "tfjs" : "pytorch", arch, round);
        byRunner[who].push(s);
        log(arch, who, `round ${round + 1}`, `${(s.wallMs / 1000).toFixed(2)} s whole trial,`, `${(ds.counts.train / (s.epochMs / 1000)).toFixed(1)} img/s`);
      }
    }
  }
  rmSync(ds.root, { recursive: true, force: true });
  writeFileSync(OUT, report(ds, runners, results, load0, loadavg()));
  log("wrote", OUT);
}

function report(ds: BenchDataset, runners: Runner[], results: Record<string, Record<Runner, Sample[]>>, load0: number[], load1: number[]): string {
  const ips = (s: Sample) => ds.counts.train / (s.epochMs / 1000);
  const lines = [
    "# Trainer trials: TensorFlow.js trainer, PyTorch trainer, bare torchvision",
    "",
    `- Date: ${new Date().toISOString()}; machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}; load average ${load0.map((v) => v.toFixed(1)).join(" ")} at start, ${load1.map((v) => v.toFixed(1)).join(" ")} at end`,
    `- Torch: ${execFileSync(PYTHON, ["-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"], { encoding: "utf8" }).trim()} (${PYTHON}); ${THREADS} threads per trainer (HYPERSWEEP_TRAINER_THREADS)`,
    `- Command: \`npx tsx bench/trainer-trial.ts ${process.argv.slice(2).join(" ")}\``,
    `- Trial: ${ds.counts.train} training and ${ds.counts.valid} validation images (synthesised CT, binary), ${SIZE} × ${SIZE}, batch ${BATCH}, ${EPOCHS} epochs, Adam, augmentations: ${AUG.length ? AUG.join(", ") : "none"}; the trainers through the worker's ProcessRunner (spec on stdin, JSON lines, a checkpoint per epoch), the cache built beforehand. ${ROUNDS} interleaved rounds; medians; ratios within a round, then the median.`,
    "",
  ];
  for (const [arch, byRunner] of Object.entries(results)) {
    const bare = byRunner["bare torchvision"];
    lines.push(`## ${arch}`, "", "| runner | training img/s (steady epochs incl. validation) | per round | ratio to bare torchvision | whole trial, s | per round | ratio to bare torchvision |", "| --- | ---: | --- | ---: | ---: | --- | ---: |");
    for (const r of runners) {
      const xs = byRunner[r];
      const ratio = (f: (s: Sample) => number) => (r === "bare torchvision" ? "" : median(xs.map((s, i) => f(s) / f(bare[i]!))).toFixed(3));
      lines.push(`| ${r} | ${median(xs.map(ips)).toFixed(1)} | ${xs.map((s) => ips(s).toFixed(1)).join(", ")} | ${ratio(ips)} | ${(median(xs.map((s) => s.wallMs)) / 1000).toFixed(2)} | ${xs.map((s) => (s.wallMs / 1000).toFixed(2)).join(", ")} | ${ratio((s) => s.wallMs)} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

await main();
