/**
 * Input checking and normalisation shared by every metric. Metrics are computed on what the trainer produces:
 * class indices and a row-major N × C matrix of class scores (softmax probabilities, or any scores whose order
 * matters). Bad input fails loudly with the row that is wrong, instead of silently producing a plausible number.
 */
import { MetricsError, METRICS_ERROR_CODES as C } from "./errors.ts";

/** Class indices, one per sample, each an integer in [0, numClasses). */
export type Labels = ArrayLike<number>;
/** N × C scores: either flat row-major (length N·C, what `tensor.dataSync()` returns) or N rows of C. */
export type ScoreMatrix = ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;

export function checkNumClasses(numClasses: number, name = "numClasses"): number {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new MetricsError(C.BAD_OPTION, `${name} must be an integer >= 2, got ${String(numClasses)}`);
  }
  return numClasses;
}

/** Copies labels into an Int32Array after checking each is an integer class index. */
export function checkLabels(labels: Labels, numClasses: number, name = "labels"): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new MetricsError(
        C.BAD_LABEL,
        `${name}[${i}] must be a class index in [0, ${numClasses - 1}], got ${String(v)}`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** Binary labels: 1/true = positive, 0/false = negative. */
export function checkBinaryLabels(labels: ArrayLike<number | boolean>, name = "labels"): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v === true || v === 1) out[i] = 1;
    else if (v === false || v === 0) out[i] = 0;
    else throw new MetricsError(C.BAD_LABEL, `${name}[${i}] must be 0/1 or a boolean, got ${String(v)}`);
  }
  return out;
}

export function checkFiniteScores(scores: ArrayLike<number>, name = "scores"): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i] as number;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new MetricsError(C.BAD_SCORE, `${name}[${i}] must be a finite number, got ${String(v)}`);
    }
    out[i] = v;
  }
  return out;
}

function isRows(scores: ScoreMatrix): scores is ReadonlyArray<ArrayLike<number>> {
  return scores.length > 0 && typeof (scores as ArrayLike<unknown>)[0] === "object";
}

/**
 * Returns the scores as a flat row-major Float64Array of length n · numClasses, after checking the shape and
 * that every value is finite (a NaN probability means the model diverged; it must not become an AUC).
 */
export function toFlatScores(scores: ScoreMatrix, n: number, numClasses: number, name = "scores"): Float64Array {
  if (!isRows(scores)) {
    if (scores.length !== n * numClasses) {
      throw new MetricsError(
        C.BAD_SHAPE,
        `${name} has ${scores.length} values; expected ${n} rows × ${numClasses} classes = ${n * numClasses}`,
      );
    }
    return checkFiniteScores(scores, name);
  }
  if (scores.length !== n) {
    throw new MetricsError(C.LENGTH_MISMATCH, `${name} has ${scores.length} rows but there are ${n} labels`);
  }
  const out = new Float64Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const row = scores[i] as ArrayLike<number>;
    if (row.length !== numClasses) {
      throw new MetricsError(C.BAD_SHAPE, `${name}[${i}] has ${row.length} values; expected ${numClasses}`);
    }
    for (let c = 0; c < numClasses; c++) {
      const v = row[c] as number;
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new MetricsError(C.BAD_SCORE, `${name}[${i}][${c}] must be a finite number, got ${String(v)}`);
      }
      out[i * numClasses + c] = v;
    }
  }
  return out;
}

export function sameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, names: [string, string]): void {
  if (a.length !== b.length) {
    throw new MetricsError(
      C.LENGTH_MISMATCH,
      `${names[0]} has ${a.length} entries but ${names[1]} has ${b.length}`,
    );
  }
}

/** Column `c` of a flat row-major matrix. */
export function column(flat: Float64Array, numClasses: number, c: number): Float64Array {
  const n = flat.length / numClasses;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = flat[i * numClasses + c] as number;
  return out;
}

/** Row-wise argmax; ties go to the lowest class index (numpy's and torch's rule). */
export function argmaxRows(flat: Float64Array, numClasses: number): Int32Array {
  const n = flat.length / numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = flat[i * numClasses] as number;
    for (let c = 1; c < numClasses; c++) {
      const v = flat[i * numClasses + c] as number;
      if (v > bestValue) {
        best = c;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}
