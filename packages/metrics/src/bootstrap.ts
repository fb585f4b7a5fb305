/**
 * Bootstrap confidence intervals for every headline metric, so that a 24-image test set (paper, Table 16) shows
 * how little it proves. Percentile method: draw `resamples` samples of the same size with replacement, compute
 * the metrics on each, and report the (1 − confidence)/2 and (1 + confidence)/2 quantiles (linear
 * interpolation, numpy's default). Seeded: the same inputs, options and seed give the same interval.
 *
 * A resample is a vector of multiplicities over the original samples, and the metrics are computed on the
 * original, pre-sorted scores under those weights: identical to re-evaluating the resampled set, without a sort
 * per resample (see bench/results/metrics.md for what that saves).
 */
import { MetricsError, METRICS_ERROR_CODES as C } from "./errors.ts";
import { metricsOf, prepareEvaluation, type EvaluationInput, type EvaluationMetrics, type PreparedEvaluation } from "./evaluate.ts";
import { mulberry32 } from "./rng.ts";

export interface BootstrapOptions {
  /** Number of resamples. @defaultValue 1000 */
  resamples?: number;
  /** Coverage of the interval, in (0, 1). @defaultValue 0.95 */
  confidence?: number;
  /** PRNG seed (any 32-bit integer). @defaultValue 0 */
  seed?: number;
  /**
   * Resample within each true class, keeping the class counts of the original set. Without it, a small test set
   * gives resamples with no positive at all, whose AUC is undefined. @defaultValue true
   */
  stratified?: boolean;
}

export interface Interval {
  /** The metric on the original set. */
  estimate: number | null;
  lower: number | null;
  upper: number | null;
  /** Resamples on which the metric was defined (an AUC needs both classes); the interval uses only these. */
  defined: number;
}

export type MetricKey = keyof EvaluationMetrics;

export interface BootstrapResult {
  resamples: number;
  confidence: number;
  seed: number;
  stratified: boolean;
  intervals: Partial<Record<MetricKey, Interval>>;
}

interface ResolvedOptions {
  resamples: number;
  confidence: number;
  seed: number;
  stratified: boolean;
}

function resolveOptions(o: BootstrapOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    resamples: o.resamples ?? 1000,
    confidence: o.confidence ?? 0.95,
    seed: o.seed ?? 0,
    stratified: o.stratified ?? true,
  };
  if (!Number.isInteger(r.resamples) || r.resamples < 1) {
    throw new MetricsError(C.BAD_OPTION, `resamples must be an integer >= 1, got ${String(o.resamples)}`);
  }
  if (!(r.confidence > 0 && r.confidence < 1)) {
    throw new MetricsError(C.BAD_OPTION, `confidence must be in (0, 1), got ${String(o.confidence)}`);
  }
  if (!Number.isInteger(r.seed)) throw new MetricsError(C.BAD_OPTION, `seed must be an integer, got ${String(o.seed)}`);
  return r;
}

/** Quantile q of ascending `sorted` with linear interpolation between order statistics (numpy "linear"). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** Draws one resample as multiplicities: within each stratum, as many draws as it has members. */
function drawWeights(strata: Int32Array[], n: number, next: () => number): Float64Array {
  const w = new Float64Array(n);
  for (const members of strata) {
    for (let j = 0; j < members.length; j++) w[members[Math.floor(next() * members.length)] as number]! += 1;
  }
  return w;
}

function buildStrata(p: PreparedEvaluation, stratified: boolean): Int32Array[] {
  const n = p.labels.length;
  if (!stratified) return [Int32Array.from({ length: n }, (_, i) => i)];
  const byClass: number[][] = Array.from({ length: p.numClasses }, () => []);
  p.labels.forEach((y, i) => byClass[y]!.push(i));
  return byClass.filter((m) => m.length > 0).map((m) => Int32Array.from(m));
}

/** Bootstrap intervals for every headline metric of `evaluateClassifier` on the same input. */
export function bootstrapIntervals(input: EvaluationInput | PreparedEvaluation, options: BootstrapOptions = {}): BootstrapResult {
  const o = resolveOptions(options);
  const p = "predictions" in input ? input : prepareEvaluation(input);
  const estimate = metricsOf(p);
  const keys = Object.keys(estimate) as MetricKey[];
  const samples = new Map<MetricKey, number[]>(keys.map((k) => [k, []]));
  const strata = buildStrata(p, o.stratified);
  const next = mulberry32(o.seed);
  for (let b = 0; b < o.resamples; b++) {
    const m = metricsOf(p, drawWeights(strata, p.labels.length, next));
    for (const k of keys) {
      const v = m[k];
      if (v !== null && v !== undefined) samples.get(k)!.push(v);
    }
  }
  const alpha = (1 - o.confidence) / 2;
  const intervals: Partial<Record<MetricKey, Interval>> = {};
  for (const k of keys) {
    const sorted = samples.get(k)!.sort((a, b) => a - b);
    const empty = sorted.length === 0;
    intervals[k] = {
      estimate: estimate[k] ?? null,
      lower: empty ? null : quantileSorted(sorted, alpha),
      upper: empty ? null : quantileSorted(sorted, 1 - alpha),
      defined: sorted.length,
    };
  }
  return { ...o, intervals };
}
