/** Shared helpers for benchmarks: percentiles, machine description, markdown output. */
import { cpus, totalmem } from "node:os";
import { execSync } from "node:child_process";

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] };
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  let pg = "";
  try {
    pg = execSync("psql --version", { encoding: "utf8" }).trim();
  } catch {
    // no psql
  }
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${pg}`;
}

export const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
