/**
 * Bootstrap confidence intervals for any metric, so that a 24-image test set (paper, Table 16) shows how little
 * it proves. Percentile method: draw `resamples` sets of the same size with replacement, compute the metric on
 * each, report the (1 − level)/2 and (1 + level)/2 quantiles (linear interpolation between order statistics,
 * numpy's default). Resampling is stratified by true class: each resample keeps every class's count, so every
 * resample has both classes and an AUC is always defined. Seeded: same inputs + options → same interval.
 */
import { MetricInputError } from "./errors.ts";
import { rocAuc } from "./auc.ts";
import { checkBinaryLabels, checkScores, columnsOf, nonEmpty, type ScoreMatrix } from "./inputs.ts";
import { mulberry32 } from "@hypersweep/core";

export interface BootstrapOptions {
  /** Number of resamples. @defaultValue 1000 */
  resamples?: number;
  /** Coverage of the interval, in (0, 1). @defaultValue 0.95 */
  level?: number;
  /** PRNG seed (an integer; only its low 32 bits matter). @defaultValue 0 */
  seed?: number;
}

export interface BootstrapCi {
  /** The metric on the original set. */
  estimate: number;
  lower: number;
  upper: number;
  resamples: number;
  level: number;
  seed: number;
}

/** A metric of (labels, scores), such as `rocAuc` or `(y, p) => multiclassMetrics(y, p, 0).f1`. */
export type BootstrapMetric<S> = (yTrue: Int32Array, scores: S) => number;

function resolve(o: BootstrapOptions): Required<BootstrapOptions> {
  const r = { resamples: o.resamples ?? 1000, level: o.level ?? 0.95, seed: o.seed ?? 0 };
  if (!Number.isInteger(r.resamples) || r.resamples < 1) {
    throw new MetricInputError("bad_option", `resamples must be an integer >= 1, got ${String(o.resamples)}`);
  }
  if (!(r.level > 0 && r.level < 1)) throw new MetricInputError("bad_option", `level must be in (0, 1), got ${String(o.level)}`);
  if (!Number.isInteger(r.seed)) throw new MetricInputError("bad_option", `seed must be an integer, got ${String(o.seed)}`);
  return r;
}

/** Quantile q of an ascending array, linear interpolation between order statistics (numpy "linear"). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** Sample indices grouped by true class (labels must be integers: class indices or 0/1). */
function strata(yTrue: ArrayLike<number>): Int32Array[] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < yTrue.length; i++) {
    const v = yTrue[i] as number;
    if (!Number.isInteger(v)) throw new MetricInputError("bad_label", `yTrue[${i}] must be an integer class label, got ${String(v)}`);
    const g = groups.get(v);
    if (g) g.push(i);
    else groups.set(v, [i]);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((k) => Int32Array.from(groups.get(k)!));
}

/** Builds a function that copies the selected rows of `scores` into a value of the same shape. */
function rowPicker<S extends ScoreMatrix>(scores: S, n: number): (rows: Int32Array) => S {
  const first = (scores as ArrayLike<unknown>)[0];
  if (typeof first === "object" && first !== null) {
    const rows = scores as ReadonlyArray<ArrayLike<number>>;
    return (idx) => Array.from(idx, (i) => rows[i]) as unknown as S;
  }
  const flat = scores as ArrayLike<number>;
  const k = columnsOf(flat, n, "scores");
  const make = ArrayBuffer.isView(flat)
    ? (len: number) => new (flat.constructor as new (len: number) => { [i: number]: number })(len)
    : (len: number) => new Array<number>(len);
  return (idx) => {
    const out = make(idx.length * k);
    for (let r = 0; r < idx.length; r++) for (let c = 0; c < k; c++) out[r * k + c] = flat[(idx[r] as number) * k + c] as number;
    return out as unknown as S;
  };
}

function checked(value: number, where: string): number {
  if (!Number.isFinite(value)) throw new MetricInputError("bad_score", `the metric returned ${String(value)} on ${where}`);
  return value;
}

/**
 * The resampling loop shared by bootstrapCi and bootstrapCis: calls `visit(b, labels, scores)` for each
 * resample b, rows drawn within each true class. Invariant: the PRNG is consumed in the same order for a given
 * (yTrue, seed, resamples), so both functions see identical resamples for identical inputs.
 */
function resample<S extends ScoreMatrix>(
  yTrue: ArrayLike<number>,
  scores: S,
  o: Required<BootstrapOptions>,
  visit: (b: number, y: Int32Array, s: S) => void,
): void {
  const n = yTrue.length;
  const groups = strata(yTrue);
  const pick = rowPicker(scores, n);
  const labels = Int32Array.from(yTrue);
  const next = mulberry32(o.seed);
  const idx = new Int32Array(n);
  const y = new Int32Array(n);
  for (let b = 0; b < o.resamples; b++) {
    draw(groups, next, idx);
    for (let i = 0; i < n; i++) y[i] = labels[idx[i] as number] as number;
    visit(b, y, pick(idx));
  }
}

/** One resample's row indices, class by class. The only consumer of the PRNG: every bootstrap draws alike. */
function draw(groups: Int32Array[], next: () => number, idx: Int32Array): void {
  let j = 0;
  for (const members of groups) {
    for (let m = 0; m < members.length; m++) idx[j++] = members[Math.floor(next() * members.length)] as number;
  }
}

function interval(estimate: number, values: Float64Array, o: Required<BootstrapOptions>): BootstrapCi {
  values.sort();
  const alpha = (1 - o.level) / 2;
  return { estimate, lower: quantileSorted(values, alpha), upper: quantileSorted(values, 1 - alpha), ...o };
}

/**
 * Percentile bootstrap interval of `metric` on (yTrue, scores). `scores` is one score per sample, or an n × k
 * matrix (rows, or flat row-major); each resample passes the metric the same shape with rows drawn within each
 * true class. Errors thrown by the metric propagate (the original set is evaluated first, so bad input fails
 * before any resampling); a non-finite metric value is an error naming the resample.
 * `bootstrapCi(rocAuc, …)` (rocAuc itself, not a wrapper) runs as bootstrapAuc: same result, much faster.
 */
export function bootstrapCi<S extends ScoreMatrix>(
  metric: BootstrapMetric<S>,
  yTrue: ArrayLike<number>,
  scores: S,
  options: BootstrapOptions = {},
): BootstrapCi {
  if ((metric as unknown) === rocAuc) return bootstrapAuc(yTrue, scores as ArrayLike<number>, options);
  const o = resolve(options);
  nonEmpty(yTrue.length, "yTrue");
  const estimate = checked(metric(Int32Array.from(yTrue), scores), "the original set");
  const values = new Float64Array(o.resamples);
  resample(yTrue, scores, o, (b, y, s) => {
    values[b] = checked(metric(y, s), `resample ${b}`);
  });
  return interval(estimate, values, o);
}

/** The keys of R whose values are numbers (e.g. auc, f1, … of MulticlassMetrics; not its confusion matrix). */
export type NumericKeys<R> = { [K in keyof R]: R[K] extends number ? K : never }[keyof R] & string;

/**
 * Intervals for several metrics that one function computes together, from one set of resamples: the function
 * runs once per resample instead of once per resample and per metric. Every numeric field of its result gets
 * an interval (other fields, such as a confusion matrix, are ignored), so `(y, p) => multiclassMetrics(y, p, 0)`
 * can be passed as is. Resamples are identical to bootstrapCi's with the same options, so each interval equals
 * what bootstrapCi gives for that metric alone.
 */
export function bootstrapCis<S extends ScoreMatrix, R extends object>(
  metrics: (yTrue: Int32Array, scores: S) => R,
  yTrue: ArrayLike<number>,
  scores: S,
  options: BootstrapOptions = {},
): Record<NumericKeys<R>, BootstrapCi> {
  type K = NumericKeys<R>;
  const o = resolve(options);
  nonEmpty(yTrue.length, "yTrue");
  const first = metrics(Int32Array.from(yTrue), scores) as Record<string, unknown>;
  const keys = Object.keys(first).filter((k) => typeof first[k] === "number") as K[];
  const estimates = new Map(keys.map((k) => [k, checked(first[k] as number, `the original set (${k})`)]));
  const values = new Map(keys.map((k) => [k, new Float64Array(o.resamples)]));
  resample(yTrue, scores, o, (b, y, s) => {
    const m = metrics(y, s) as Record<string, unknown>;
    for (const k of keys) values.get(k)![b] = checked(m[k] as number, `resample ${b} (${k})`);
  });
  return Object.fromEntries(keys.map((k) => [k, interval(estimates.get(k)!, values.get(k)!, o)])) as Record<K, BootstrapCi>;
}

/**
 * bootstrapCi(rocAuc, yTrue, score, options), computed without sorting each resample: the scores are sorted
 * once, and a resample is a vector of multiplicities walked in that order (tied scores as one group, as in
 * rocAuc). Same PRNG draws as bootstrapCi, and every AUC is a ratio of the same exact half-integer sums, so the
 * result is identical, number for number; it costs O(n) per resample instead of O(n log n).
 */
export function bootstrapAuc(yTrue: ArrayLike<number>, score: ArrayLike<number>, options: BootstrapOptions = {}): BootstrapCi {
  const o = resolve(options);
  const estimate = rocAuc(yTrue, score); // validates lengths, labels, scores and that both classes are present
  const y = checkBinaryLabels(yTrue);
  const s = checkScores(score);
  const n = y.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => (s[a] as number) - (s[b] as number));
  // groupEnd[k] = end (exclusive) of the group of equal scores that position k of `order` belongs to.
  const groupEnd = new Uint32Array(n);
  for (let k = n - 1; k >= 0; k--) {
    groupEnd[k] = k + 1 < n && s[order[k + 1] as number] === s[order[k] as number] ? (groupEnd[k + 1] as number) : k + 1;
  }
  const groups = strata(y);
  const next = mulberry32(o.seed);
  const idx = new Int32Array(n);
  const w = new Float64Array(n);
  const values = new Float64Array(o.resamples);
  for (let b = 0; b < o.resamples; b++) {
    draw(groups, next, idx);
    w.fill(0);
    for (let i = 0; i < n; i++) w[idx[i] as number]! += 1;
    values[b] = weightedAuc(order, groupEnd, y, w);
  }
  return interval(estimate, values, o);
}

/** AUC under multiplicities `w`, walking tied groups in ascending score order (see aucOfSorted). */
function weightedAuc(order: Uint32Array, groupEnd: Uint32Array, y: Uint8Array, w: Float64Array): number {
  let wins = 0;
  let negBefore = 0;
  let totalPos = 0;
  for (let k = 0; k < order.length; ) {
    const end = groupEnd[k] as number;
    let pos = 0;
    let neg = 0;
    for (; k < end; k++) {
      const i = order[k] as number;
      if (y[i]) pos += w[i] as number;
      else neg += w[i] as number;
    }
    wins += pos * (negBefore + neg / 2);
    negBefore += neg;
    totalPos += pos;
  }
  return wins / (totalPos * negBefore);
}
