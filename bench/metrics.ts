/**
 * Speed of @hypersweep/metrics against the limit of a tight loop (sorting the same number of floats with the
 * native typed-array sort), measured side by side: in each round every variant runs once, in the same process,
 * so machine noise hits them alike. Reports medians and ratios.
 *
 *   npx tsx bench/metrics.ts [--rounds 7] [--out bench/results/metrics.md]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { bootstrapCi, bootstrapCis, multiclassMetrics, oneVsRestAuc, rocAuc } from "../packages/metrics/src/index.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const ROUNDS = Number(arg("rounds", "7"));
const OUT = arg("out", "bench/results/metrics.md");

/** Deterministic data: the same inputs on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function binaryData(n: number) {
  const next = rng(1);
  const y = new Uint8Array(n);
  const s = new Float32Array(n); // float32 probabilities, as a model produces: realistic ties
  for (let i = 0; i < n; i++) {
    y[i] = next() < 0.3 ? 1 : 0;
    s[i] = Math.min(1, next() * 0.8 + y[i]! * 0.2);
  }
  return { y, s };
}

function multiclassData(n: number, k: number) {
  const next = rng(2);
  const y = new Int32Array(n);
  const p = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    y[i] = i < k ? i : Math.floor(next() * k);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += p[i * k + c] = next() + (c === y[i] ? 0.5 : 0);
    for (let c = 0; c < k; c++) p[i * k + c]! /= sum;
  }
  return { y, p };
}

/** The limit: copy n floats into a Float64Array and sort them natively, `times` times. */
function sortFloats(values: ArrayLike<number>, times: number) {
  for (let t = 0; t < times; t++) Float64Array.from(values).sort();
}

/** The obvious implementation, for context: argsort with a comparator, then one walk over tied groups. */
function comparatorAuc(y: ArrayLike<number>, s: ArrayLike<number>): number {
  const order = Uint32Array.from({ length: s.length }, (_, i) => i).sort((a, b) => (s[a] as number) - (s[b] as number));
  let negBefore = 0, wins = 0, pos = 0, i = 0;
  while (i < order.length) {
    const v = s[order[i]!]!;
    let p = 0, n = 0;
    for (; i < order.length && s[order[i]!] === v; i++) (y[order[i]!] ? p++ : n++);
    wins += p * (negBefore + n / 2);
    negBefore += n;
    pos += p;
  }
  return wins / (pos * negBefore);
}

type Variant = { name: string; run: () => unknown };
interface Row { name: string; median: number; min: number }

function sideBySide(variants: Variant[], rounds: number): Row[] {
  for (const v of variants) v.run(); // warm-up: JIT and allocation
  const times = variants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    variants.forEach((v, i) => {
      const t0 = process.hrtime.bigint();
      v.run();
      times[i]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return variants.map((v, i) => {
    const s = times[i]!.sort((a, b) => a - b);
    return { name: v.name, median: s[Math.floor(s.length / 2)]!, min: s[0]! };
  });
}

function table(title: string, target: string, rows: Row[], limitName: string): string {
  const limit = rows.find((r) => r.name === limitName)!.median;
  const lines = rows.map((r) => `| ${r.name} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} | ${(r.median / limit).toFixed(2)}× |`);
  return [`### ${title}`, "", `Target: ${target}.`, "", "| variant | median ms | min ms | vs limit |", "| --- | ---: | ---: | ---: |", ...lines, ""].join("\n");
}

const loadAtStart = loadavg()[0]!.toFixed(2);
const sections: string[] = [];
const log = (s: string) => {
  sections.push(s);
  console.log(s);
};

{
  const { y, s } = binaryData(1_000_000);
  const rows = sideBySide(
    [
      { name: "rocAuc (1,000,000 scores)", run: () => rocAuc(y, s) },
      { name: "limit: sort 1,000,000 floats", run: () => sortFloats(s, 1) },
      { name: "for context: comparator argsort AUC", run: () => comparatorAuc(y, s) },
    ],
    ROUNDS,
  );
  if (Math.abs(rocAuc(y, s) - comparatorAuc(y, s)) > 1e-12) throw new Error("AUC implementations disagree");
  log(table("Binary AUC, n = 1,000,000", "under 300 ms", rows, "limit: sort 1,000,000 floats"));
}
{
  const { y, p } = multiclassData(100_000, 6);
  const rows = sideBySide(
    [
      { name: "oneVsRestAuc (100,000 × 6)", run: () => oneVsRestAuc(y, p) },
      { name: "multiclassMetrics (100,000 × 6, all metrics)", run: () => multiclassMetrics(y, p, 0) },
      { name: "limit: sort 100,000 floats × 6", run: () => { for (let c = 0; c < 6; c++) sortFloats(p.subarray(c * 100_000, (c + 1) * 100_000), 1); } },
    ],
    ROUNDS,
  );
  log(table("Multiclass AUC (one-vs-rest macro), 100,000 × 6", "under 500 ms", rows, "limit: sort 100,000 floats × 6"));
}
{
  const { y, s } = binaryData(1_000);
  const rows = sideBySide(
    [
      { name: "bootstrapCi(rocAuc) = bootstrapAuc: sort once, O(n) per resample", run: () => bootstrapCi(rocAuc, y, s, { seed: 1 }) },
      { name: "generic bootstrapCi((y, s) => rocAuc(y, s)): sort per resample", run: () => bootstrapCi((yy, ss) => rocAuc(yy, ss), y, s, { seed: 1 }) },
      { name: "limit: sort 1,000 floats × 1,000", run: () => sortFloats(s, 1000) },
    ],
    ROUNDS,
  );
  const fast = bootstrapCi(rocAuc, y, s, { seed: 1 });
  const slow = bootstrapCi((yy, ss) => rocAuc(yy, ss), y, s, { seed: 1 });
  if (fast.lower !== slow.lower || fast.upper !== slow.upper) throw new Error("bootstrap paths disagree");
  log(table("Bootstrap of AUC, 1,000 samples, 1,000 resamples", "under 500 ms", rows, "limit: sort 1,000 floats × 1,000"));
}
{
  // A test-set report as the trainer makes it: every headline metric of a 1,000-image, 5-class test set.
  const { y, p } = multiclassData(1_000, 5);
  const keys = ["auc", "f1", "precision", "recall", "accuracy", "macroAuc"] as const;
  const rows = sideBySide(
    [
      { name: "bootstrapCis: 6 metrics, one pass", run: () => bootstrapCis((yy, pp) => multiclassMetrics(yy, pp, 0), y, p, { seed: 1 }) },
      { name: "bootstrapCi × 6, one per metric", run: () => keys.map((k) => bootstrapCi((yy, pp) => multiclassMetrics(yy, pp, 0)[k], y, p, { seed: 1 })) },
      { name: "limit: sort 1,000 floats × 5 classes × 1,000", run: () => sortFloats(p.subarray(0, 1000), 5000) },
    ],
    Math.max(3, Math.ceil(ROUNDS / 2)),
  );
  log(table("Test-set intervals for 6 metrics, 1,000 × 5 classes, 1,000 resamples", "none (what a final training's test report costs)", rows, "limit: sort 1,000 floats × 5 classes × 1,000"));
}

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
const header = [
  "# @hypersweep/metrics: speed",
  "",
  `- Machine: ${cpus().length} cores (nproc), ${cpu}; Node ${process.version}`,
  `- Date: ${new Date().toISOString()}`,
  `- Command: \`npx tsx bench/metrics.ts --rounds ${ROUNDS}\``,
  "- Method: each round runs every variant of a table once, in order, in one process (after one warm-up run);",
  "  medians over the rounds. \"limit\" = copying the same number of floats into a Float64Array and sorting them",
  "  with the native typed-array sort: no AUC can be computed faster than its scores can be sorted.",
  `  The machine was shared with other work (1-minute load average ${loadAtStart} at start, ${loadavg()[0]!.toFixed(2)} at end,`,
  "  on 2 cores): compare the ratios, not the absolute times.",
  "",
].join("\n");
writeFileSync(OUT, `${header}\n${sections.join("\n")}`);
console.log(`wrote ${OUT}`);
