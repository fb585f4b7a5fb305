/**
 * Wall time of a whole demo-sized search trial through the real trainer process (issue 5, "Performance"):
 * small_cnn, a few hundred synthetic radiographs, a few epochs, on the backend the trainer picks here. Split into
 * start-up (process + tfjs + backend, then data open + model build) and per epoch (train + validate, then the
 * checkpoint write). The preprocessing cache is built once beforehand, as a sweep does for all its trials.
 *
 *   npx tsx bench/trial-walltime.ts [--images 600] [--sizes 32,64] [--epochs 4] [--repeats 3] [--out bench/results/trial-walltime.md]
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TrainerData, TrainerMessage, TrainerSpecInput } from "@hypersweep/core";
import { ensureCache, importDataset, resolveScenario, synthDataset } from "@hypersweep/data";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const IMAGES = Number(arg("images", "600"));
const SIZES = arg("sizes", "32,64").split(",").map(Number);
const EPOCHS = Number(arg("epochs", "4"));
const REPEATS = Number(arg("repeats", "3"));
const OUT = arg("out", "bench/results/trial-walltime.md");
const BIN = fileURLToPath(new URL("../packages/trainer/bin/hypersweep-trainer", import.meta.url));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (msv: number) => (msv / 1000).toFixed(msv < 10_000 ? 2 : 1);

interface Timing {
  /** spawn → the trainer's "backend …" log line: node + tsx + tfjs import + backend init. */
  backendMs: number;
  /** backend line → `ready`: data open (warm cache) + model build + checkpoint lookup. */
  openMs: number;
  /** Per epoch: the epoch message's durationMs (train + validation). */
  epochMs: number[];
  /** Per epoch: `epoch` line → `checkpoint` line. */
  checkpointMs: number[];
  /** spawn → process exit. */
  totalMs: number;
  result: Extract<TrainerMessage, { type: "result" }>;
  backend: string;
}

function runTrainer(spec: TrainerSpecInput): Promise<Timing> {
  const t0 = performance.now();
  const child = spawn(BIN, [], { stdio: ["pipe", "pipe", "pipe"] });
  let backendAt = NaN;
  let readyAt = NaN;
  let lastEpochAt = NaN;
  const t: Partial<Timing> = { epochMs: [], checkpointMs: [] };
  let out = "";
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    err += c;
    if (Number.isNaN(backendAt) && err.includes("[trainer] backend ")) backendAt = performance.now();
  });
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    out += c;
    let nl: number;
    while ((nl = out.indexOf("\n")) >= 0) {
      const m = JSON.parse(out.slice(0, nl)) as TrainerMessage;
      out = out.slice(nl + 1);
      const now = performance.now();
      if (m.type === "ready") (readyAt = now), (t.backend = m.backend);
      if (m.type === "epoch") (lastEpochAt = now), t.epochMs!.push(m.durationMs);
      if (m.type === "checkpoint") t.checkpointMs!.push(now - lastEpochAt);
      if (m.type === "result") t.result = m;
      if (m.type === "error") process.stderr.write(`trainer error: ${m.reason}: ${m.message}\n${err}\n`);
    }
  });
  child.stdin.end(JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    child.on("close", (code) => {
      if (code !== 0 || !t.result) return reject(new Error(`trainer exited ${code}\n${err}`));
      resolve({ ...(t as Timing), backendMs: backendAt - t0, openMs: readyAt - backendAt, totalMs: performance.now() - t0 });
    });
  });
}

function spec(work: string, data: TrainerData, size: number, run: string): TrainerSpecInput {
  return {
    trialId: `bench-${size}-${run}`, attempt: 1, seed: 1, architecture: "small_cnn", stage: "search", task: "binary",
    learningRate: 1e-3, augmentations: ["rotation", "hflip", "brightness"],
    augmentationParams: { rotationDegrees: 90, brightness: 0.11, contrast: 0.2, centerCropFraction: 0.8 },
    epochs: EPOCHS, batchSize: 32, imageSize: size, schedule: { stepSize: 7, gamma: 0.1 }, selectionMetric: "auc",
    data, checkpointDir: join(work, "runs", run, "ckpt"), outputDir: join(work, "runs", run, "out"),
  };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "hs-bench-trial-"));
  try {
    process.stderr.write(`synthesising and importing ${IMAGES} images…\n`);
    await synthDataset(join(work, "src"), { images: IMAGES, size: 128, seed: 1 });
    const version = await importDataset(join(work, "src"), { dataRoot: join(work, "data") });
    const sc = resolveScenario(version.rows, { modality: "radiograph", task: "binary" });
    const data: TrainerData = {
      datasetVersionId: version.contentHash, datasetDir: version.storagePath, cacheDir: join(work, "cache"),
      scenario: { key: sc.key, modality: "radiograph", task: "binary", classes: sc.classes, positiveClass: "covid19", filters: {}, minPerClass: 0 },
    };
    const counts = { train: sc.rowIndices.train.length, valid: sc.rowIndices.valid.length, test: sc.rowIndices.test.length };
    const rows: string[] = [];
    let backend = "";
    for (const size of SIZES) {
      const cacheStart = performance.now();
      await ensureCache(version.storagePath, size, data.cacheDir);
      const cacheMs = performance.now() - cacheStart;
      const runs: Timing[] = [];
      // Sizes alternate inside each repeat would be fairer on a noisy machine, but the cache must exist first:
      // repeats of one size run back to back, sizes one after the other.
      for (let r = 0; r < REPEATS; r++) {
        process.stderr.write(`S=${size} run ${r + 1}/${REPEATS}…\n`);
        runs.push(await runTrainer(spec(work, data, size, `${size}-${r}`)));
      }
      backend = runs[0]!.backend;
      const startup = median(runs.map((x) => x.backendMs + x.openMs));
      const firstEpoch = median(runs.map((x) => x.epochMs[0]!));
      const later = median(runs.flatMap((x) => x.epochMs.slice(1)));
      const ckpt = median(runs.flatMap((x) => x.checkpointMs));
      const total = median(runs.map((x) => x.totalMs));
      const imgsPerSec = (counts.train + counts.valid) / (later / 1000);
      rows.push(
        `| ${size}×${size} | ${s(cacheMs)} | ${s(median(runs.map((x) => x.backendMs)))} | ${s(median(runs.map((x) => x.openMs)))} | ${s(startup)} | ${s(firstEpoch)} | ${s(later)} | ${s(ckpt)} | ${s(total)} | ${(startup / total * 100).toFixed(0)}% | ${imgsPerSec.toFixed(0)} | ${median(runs.map((x) => x.result.metrics.auc ?? NaN)).toFixed(3)} |`,
      );
    }
    const cpu = cpus()[0]?.model ?? "unknown";
    const md = `# Trial wall time (demo-sized search trial, real trainer process)

- Date: ${new Date().toISOString()}
- Machine: ${cpus().length} cores (\`nproc\`), ${cpu}, Node ${process.version}; shared and busy while measured
  (load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" / ")} at the end), so read ratios and medians, not absolutes.
- Command: \`npx tsx bench/trial-walltime.ts --images ${IMAGES} --sizes ${SIZES.join(",")} --epochs ${EPOCHS} --repeats ${REPEATS}\`
- Trial: small_cnn, search stage, ${EPOCHS} epochs, batch 32, augmentations rotation + hflip + brightness, backend
  chosen by the trainer: **${backend}**. Data: ${IMAGES} synthetic images (~128 px) → radiograph/binary scenario with
  ${counts.train} train / ${counts.valid} valid images; preprocessing cache built before the trials (column "cache").
- ${REPEATS} runs per size; every figure is the median (epoch figures over all epochs of all runs).

| size | cache build s | process + tfjs + backend s | data open + model s | start-up s | epoch 1 s | later epochs s | checkpoint s | whole trial s | start-up share | train+valid img/s | val AUC |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

"start-up" = spawn → \`ready\` (what every trial pays once; a resumed attempt pays it again). "epoch" = the epoch
message's durationMs (training on the augmented training split + evaluation on the validation split).
"checkpoint" = the \`epoch\` line → the \`checkpoint\` line (weights + Adam state, fsync'ed, renamed).
`;
    await writeFile(OUT, md);
    process.stdout.write(md);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
