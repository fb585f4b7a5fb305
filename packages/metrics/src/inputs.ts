/**
 * Input checking and normalisation shared by every metric. Metrics are computed on what a trainer produces:
 * class indices and class scores (flat row-major n × k, what `tensor.dataSync()` returns, or n rows of k). Bad
 * input fails loudly with the row that is wrong instead of silently producing a plausible number.
 */
import { MetricInputError } from "./errors.ts";

/** An n × k score matrix: n rows of k, or flat row-major (length n·k). */
export type ScoreMatrix = ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

export function nonEmpty(n: number, name: string): void {
  if (n === 0) throw new MetricInputError("empty", `${name} is empty: there is nothing to compute a metric on`);
}

export function sameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, names: [string, string]): void {
  if (a.length !== b.length) {
    throw new MetricInputError("length_mismatch", `${names[0]} has ${a.length} entries but ${names[1]} has ${b.length}`);
  }
}

/** Copies class indices into an Int32Array after checking each is an integer in [0, nClasses). */
export function checkLabels(labels: ArrayLike<number>, nClasses: number, name = "yTrue"): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (!Number.isInteger(v) || v < 0 || v >= nClasses) {
      throw new MetricInputError("bad_label", `${name}[${i}] must be a class index in [0, ${nClasses - 1}], got ${String(v)}`);
    }
    out[i] = v;
  }
  return out;
}

/** Binary labels: 1 (or true) is the positive class, 0 (or false) the negative. */
export function checkBinaryLabels(labels: ArrayLike<number | boolean>, name = "yTrue"): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v === 1 || v === true) out[i] = 1;
    else if (v !== 0 && v !== false) {
      throw new MetricInputError("bad_label", `${name}[${i}] must be 0 or 1 (negative/positive), got ${String(v)}`);
    }
  }
  return out;
}

export function checkScores(scores: ArrayLike<number>, name = "score"): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i] as number;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new MetricInputError("bad_score", `${name}[${i}] must be a finite number, got ${String(v)}`);
    }
    out[i] = v;
  }
  return out;
}

function isRows(m: ScoreMatrix): m is ReadonlyArray<ArrayLike<number>> {
  return m.length > 0 && typeof (m as ArrayLike<unknown>)[0] === "object" && (m as ArrayLike<unknown>)[0] !== null;
}

/** Number of columns of a score matrix with n rows, checking the shape. */
export function columnsOf(m: ScoreMatrix, n: number, name = "probs"): number {
  if (isRows(m)) {
    if (m.length !== n) throw new MetricInputError("length_mismatch", `${name} has ${m.length} rows but yTrue has ${n} labels`);
    return (m[0] as ArrayLike<number>).length;
  }
  const k = m.length / n;
  if (!Number.isInteger(k)) {
    throw new MetricInputError("bad_shape", `${name} has ${m.length} values, not a multiple of the ${n} labels in yTrue (row-major n × k expected)`);
  }
  return k;
}

/**
 * The matrix as flat row-major Float64Array (n · k), after checking that every row has k values and every value
 * is finite (a NaN probability means the model diverged; it must not become an AUC).
 */
export function toFlat(m: ScoreMatrix, n: number, k: number, name = "probs"): Float64Array {
  if (!isRows(m)) return checkScores(m, name);
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = m[i] as ArrayLike<number>;
    if (row.length !== k) throw new MetricInputError("bad_shape", `${name}[${i}] has ${row.length} values; row 0 has ${k}`);
    for (let c = 0; c < k; c++) {
      const v = row[c] as number;
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new MetricInputError("bad_score", `${name}[${i}][${c}] must be a finite number, got ${String(v)}`);
      }
      out[i * k + c] = v;
    }
  }
  return out;
}

/** Column c of a flat row-major n × k matrix. */
export function column(flat: Float64Array, k: number, c: number): Float64Array {
  const n = flat.length / k;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = flat[i * k + c] as number;
  return out;
}

/** Row-wise argmax; a tie goes to the lowest class index (numpy's `argmax` rule). */
export function argmaxRows(flat: Float64Array, k: number): Int32Array {
  const n = flat.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if ((flat[i * k + c] as number) > (flat[i * k + best] as number)) best = c;
    out[i] = best;
  }
  return out;
}
