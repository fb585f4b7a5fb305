/**
 * Cost of planning a sweep (packages/core): resolve the spec, draw the subsets, build the trials, hash the
 * canonical JSON. DESIGN/ANCHORS target: orchestrator overhead ≤ 10 ms CPU per trial. Side by side with the
 * same work minus the hash, to show where the time goes.
 *
 *   npx tsx bench/core-plan.ts [--rounds 15] [--out bench/results/core.md]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { planTrials, resolveSweepSpec, sampleSubsets, subsetDimension, mulberry32 } from "../packages/core/src/index.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const ROUNDS = Number(arg("rounds", "15"));
const OUT = arg("out", "bench/results/core.md");
const ARCHS = ["resnet18", "resnet50", "wide_resnet50_2", "densenet121", "densenet169"];

function time(f: () => unknown): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const variants: { name: string; trials: number; run: () => unknown }[] = [
  { name: "resolve + plan, 1 architecture (20 trials)", trials: 20, run: () => planTrials(resolveSweepSpec({ architectures: ["resnet18"], task: "binary", modality: "ct", seed: 1 })) },
  { name: "resolve + plan, 5 architectures (100 trials)", trials: 100, run: () => planTrials(resolveSweepSpec({ architectures: ARCHS, task: "multiclass", modality: "radiograph", seed: 2 })) },
  { name: "resolve + plan, all 32 subsets × 4 rates × 5 architectures (640 trials)", trials: 640, run: () => planTrials(resolveSweepSpec({ architectures: ARCHS, task: "binary", modality: "ct", seed: 3, overrides: { allSubsets: true } })) },
  { name: "draw 5 of 2^20 subsets (20-item subset dimension)", trials: 1, run: () => sampleSubsets(subsetDimension("items", Array.from({ length: 20 }, (_, i) => `i${i}`)), 5, mulberry32(4)) },
];
for (const v of variants) for (let i = 0; i < 3; i++) v.run(); // warm-up
const times = variants.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) variants.forEach((v, i) => times[i]!.push(time(v.run)));
const rows = variants.map((v, i) => {
  const s = times[i]!.sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  return `| ${v.name} | ${median.toFixed(2)} | ${(median / v.trials).toFixed(3)} |`;
});
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
const md = [
  "# @hypersweep/core: planning cost",
  "",
  `- Machine: ${cpus().length} cores (nproc), ${cpu}; Node ${process.version}`,
  `- Date: ${new Date().toISOString()}`,
  `- Command: \`npx tsx bench/core-plan.ts --rounds ${ROUNDS}\``,
  "- Method: every variant once per round, in one process, after 3 warm-up runs; medians over the rounds.",
  "  The machine was shared with other work while this ran. Target: ≤ 10 ms per trial (ANCHORS.md).",
  "",
  "| variant | median ms | ms per trial |",
  "| --- | ---: | ---: |",
  ...rows,
  "",
].join("\n");
writeFileSync(OUT, md);
console.log(md);
