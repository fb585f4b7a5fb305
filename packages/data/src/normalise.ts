/**
 * uint8 → normalised float32 conversion of the cache loader: x = (v − mean[c]) / std[c] per channel of
 * interleaved RGB. At S = 512 a batch of 32 is 25 M values: most of a cached epoch's work.
 *
 * It runs as a WebAssembly SIMD kernel (normalise.wat): measured 0.11–0.15 ms per 512 px image here on every
 * buffer, where JS loops took 0.2–0.9 ms depending on how V8 happened to compile them per buffer. Each buffer
 * gets its own small instance whose memory holds the uint8 staging and the float32 output, so reads land
 * straight in the kernel's memory and the output is handed out as a view, without copies. The memory is sized
 * once and never grows (growing would detach every view of it). Where WebAssembly SIMD is unavailable, or the
 * buffer is too large for a 32-bit memory, a plain JS loop over ordinary arrays does the same.
 */
import { NORMALISE_WASM_BASE64 } from "./normalise-wasm.ts";

export interface ChannelStats {
  /** Per channel (r, g, b), pixel units. */
  mean: readonly number[];
  std: readonly number[];
}

/** One batch buffer: positional reads fill `raw`, `run(from, to)` writes `x[from, to)` from `raw[from, to)`. */
export interface Normaliser {
  /** uint8 staging, `capacity` bytes. */
  readonly raw: Buffer;
  /** float32 output, `capacity` values. */
  readonly x: Float32Array;
  /** Converts values [from, to); `from` is a multiple of 3 (a pixel's first channel). */
  run(from: number, to: number): void;
  readonly kind: "wasm-simd" | "js";
}

const PAGE = 65536;
/** Constants (144 bytes, see normalise.wat), then the uint8 region, 16 bytes the kernel may over-read, the output. */
const CONSTS_BYTES = 144;
const RAW_AT = 256;
/** Beyond this the 32-bit memory (4 GiB, and V8's own limit) cannot hold a buffer: JS arrays instead. */
const MAX_WASM_BYTES = 2 ** 31;

let kernel: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null where this runtime has no WebAssembly SIMD. Compiled once per process. */
function kernelModule(): WebAssembly.Module | null {
  if (kernel === undefined) {
    const bytes = Buffer.from(NORMALISE_WASM_BASE64, "base64");
    kernel = typeof WebAssembly === "object" && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return kernel;
}

export function createNormaliser(capacity: number, stats: ChannelStats, opts: { simd?: boolean } = {}): Normaliser {
  if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  const xAt = align16(RAW_AT + capacity + 16);
  const total = xAt + 4 * capacity;
  const module = opts.simd === false || total > MAX_WASM_BYTES ? null : kernelModule();
  if (module) {
    try {
      return wasmNormaliser(module, capacity, xAt, total, stats);
    } catch (e) {
      // The memory could not be reserved (RangeError): ordinary arrays may still fit.
      if (!(e instanceof RangeError)) throw e;
    }
  }
  return jsNormaliser(capacity, stats);
}

function wasmNormaliser(module: WebAssembly.Module, capacity: number, xAt: number, total: number, stats: ChannelStats): Normaliser {
  const pages = Math.ceil(total / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const normalise = instance.exports.normalise as (src: number, dst: number, n: number, k: number) => void;
  new Float32Array(memory.buffer, 0, CONSTS_BYTES / 4).set(kernelConstants(stats));
  const raw = Buffer.from(memory.buffer, RAW_AT, capacity);
  const x = new Float32Array(memory.buffer, xAt, capacity);
  return {
    raw,
    x,
    kind: "wasm-simd",
    run(from, to) {
      checkRange(from, to, capacity);
      normalise(RAW_AT + from, xAt + 4 * from, to - from, 0);
    },
  };
}

/**
 * The kernel's constants: mean split into a float32 and the float32 of its remainder, and 1/std, each as three
 * f32x4 rotated for the channel pattern of 4 pixels in 12 values: (r g b r) (g b r g) (b r g b).
 */
export function kernelConstants(stats: ChannelStats): Float32Array {
  const hi = [0, 1, 2].map((c) => Math.fround(stats.mean[c]!));
  const lo = [0, 1, 2].map((c) => Math.fround(stats.mean[c]! - hi[c]!));
  const inv = [0, 1, 2].map((c) => Math.fround(1 / stats.std[c]!));
  const out = new Float32Array(36);
  [hi, lo, inv].forEach((per, q) => {
    for (let i = 0; i < 12; i++) out[12 * q + i] = per[i % 3]!;
  });
  return out;
}

function jsNormaliser(capacity: number, stats: ChannelStats): Normaliser {
  const raw = Buffer.alloc(capacity);
  const x = new Float32Array(capacity);
  const [m0, m1, m2] = [0, 1, 2].map((c) => stats.mean[c]!) as [number, number, number];
  const [s0, s1, s2] = [0, 1, 2].map((c) => 1 / stats.std[c]!) as [number, number, number];
  return {
    raw,
    x,
    kind: "js",
    run(from, to) {
      checkRange(from, to, capacity);
      // In doubles, rounded once on store.
      let p = from;
      for (; p + 2 < to; p += 3) {
        x[p] = (raw[p]! - m0) * s0;
        x[p + 1] = (raw[p + 1]! - m1) * s1;
        x[p + 2] = (raw[p + 2]! - m2) * s2;
      }
      if (p < to) x[p] = (raw[p]! - m0) * s0;
      if (p + 1 < to) x[p + 1] = (raw[p + 1]! - m1) * s1;
    },
  };
}

function checkRange(from: number, to: number, capacity: number): void {
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= capacity && from % 3 === 0)) {
    throw new RangeError(`cannot convert values [${from}, ${to}) of a buffer of ${capacity} (from must be a multiple of 3)`);
  }
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;
