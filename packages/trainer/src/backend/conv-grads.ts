/**
 * Convolution gradients re-expressed as forward convolutions, so that all their arithmetic runs in the wasm
 * backend's XNNPACK convolution (the fastest kernel it has). Both functions run with ops of the active
 * backend and return a new tensor the caller owns; inputs are NHWC, filters HWIO, dilation 1.
 *
 * Geometry (one spatial axis; the other is the same): a forward conv with stride s, kernel K and top padding
 * T reads input row  i = o·s + k − T  for output row o and tap k.
 *
 * Filter gradient: dW[k] = Σ_b,o x[o·s + k − T] · dy[o]. With the batch moved into the channels
 * (x → [Ci, H, W, B]) and dy used as a filter ([OH, OW, B, Co]), this is a convolution with dilation s:
 * out[ci, k, co] = Σ_o,b xT[ci, k + o·s, b] · dyT[o, b, co]. The input is cropped/padded to exactly
 * (OH−1)·s + K rows so that the output has K rows.
 *
 * Input gradient: dx[i] = Σ_k dy_dil[i + T − k] · W[k], where dy_dil has s−1 zeros between rows. Flipping
 * the filter (k' = K−1−k) and swapping its in/out channels turns it into a stride-1 'valid' convolution of
 * dy_dil padded by K−1−T rows in front, cropped/padded to H + K − 1 rows.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import { tensorFromHeap } from "./heap.ts";

type Tf = typeof tfTypes;
type T4 = tfTypes.Tensor4D;
type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | Pad4;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

function convInfo(tf: Tf, xShape: number[], filterShape: number[], a: ConvGradAttrs) {
  if (a.dataFormat !== "NHWC") throw new Error(`wasm conv gradient: dataFormat ${a.dataFormat} unsupported, only NHWC`);
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, 1, a.pad as never, a.dimRoundingMode, false, "channelsLast",
  );
}

/**
 * Convolution with per-side padding that may be negative: positive amounts are handed to the convolution
 * as explicit padding (XNNPACK pads internally, no copy); negative ones crop the input first.
 */
function convPadded(tf: Tf, x: T4, f: T4, pads: [number, number, number, number], dilations: [number, number] = [1, 1]): T4 {
  const [pt, pb, pl, pr] = pads;
  let input = x;
  if (pt < 0 || pb < 0 || pl < 0 || pr < 0) {
    const [, h, w] = x.shape;
    const ct = Math.max(0, -pt), cb = Math.max(0, -pb), cl = Math.max(0, -pl), cr = Math.max(0, -pr);
    input = tf.slice(x, [0, ct, cl, 0], [-1, h - ct - cb, w - cl - cr, -1]);
  }
  const pad: Pad4 = [[0, 0], [Math.max(0, pt), Math.max(0, pb)], [Math.max(0, pl), Math.max(0, pr)], [0, 0]];
  return tf.conv2d(input, f, 1, pad, "NHWC", dilations);
}

/** dW for conv2d(x, W) given dy: a dilated convolution over the batch-transposed input. */
export function conv2dBackpropFilterAsConv(tf: Tf, x: T4, dy: T4, filterShape: [number, number, number, number], a: ConvGradAttrs): T4 {
  const info = convInfo(tf, x.shape, filterShape, a);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && oh === x.shape[1] && ow === x.shape[2]) {
    return filterGrad1x1(tf, x, dy);
  }
  return tf.tidy(() => {
    const xT = swapBatchAndChannels(tf, x); // [Ci, H, W, B]
    const dyT = batchToThirdAxis(tf, dy); // [OH, OW, B, Co] used as the filter
    // Rows needed: (OH−1)·s + K starting at −top. Extra rows at the bottom (padding < 0) would only add
    // output rows beyond K, so pad at least 0 there and crop the small output instead.
    const bottom = (oh - 1) * sh + kh - x.shape[1] - top, right = (ow - 1) * sw + kw - x.shape[2] - left;
    const out = convPadded(tf, xT, dyT, [top, Math.max(0, bottom), left, Math.max(0, right)], [sh, sw]); // [Ci, ≥KH, ≥KW, Co]
    return ciToFilterLayout(tf, out, kh, kw);
  });
}

/**
 * dW of a 1×1 stride-1 convolution: the product xᵀ·dy of the [B·H·W, Ci] and [B·H·W, Co] matrices, one GEMM
 * with the reduction over the whole batch contiguous in both operands (as a convolution, the reduction is
 * split into H·W taps of B values each, which XNNPACK runs ~3× slower than the forward pass).
 */
function filterGrad1x1(tf: Tf, x: T4, dy: T4): T4 {
  const [b, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const m = b * h * w;
  return tf.tidy(() => {
    const xT = tensorFromHeap<tfTypes.Tensor2D>(tf, [ci, m], [x], (out, [src]) => transposeBlock(src!, 0, out, 0, m, ci));
    return tf.reshape(tf.matMul(xT, tf.reshape(dy, [m, co])), [1, 1, ci, co]);
  });
}

/**
 * [B, H, W, C] → [C, H, W, B]: for each pixel a B × C block transposed, in the heap (wasm's Transpose moves
 * element by element with index arithmetic per element: several times slower on activation-sized tensors).
 */
function swapBatchAndChannels(tf: Tf, x: T4): T4 {
  const [b, h, w, c] = x.shape;
  const hw = h * w;
  return tensorFromHeap<T4>(tf, [c, h, w, b], [x], (out, [src]) => {
    // out[(ci·hw + p)·b + n] = src[(n·hw + p)·c + ci]
    for (let p = 0; p < hw; p++) {
      for (let n = 0; n < b; n++) {
        const from = (n * hw + p) * c;
        for (let ci = 0; ci < c; ci++) out[(ci * hw + p) * b + n] = src![from + ci]!;
      }
    }
  });
}

/** [B, H, W, C] → [H, W, B, C]: rows of C values move as blocks, in the heap. */
function batchToThirdAxis(tf: Tf, x: T4): T4 {
  const [b, h, w, c] = x.shape;
  const hw = h * w;
  return tensorFromHeap<T4>(tf, [h, w, b, c], [x], (out, [src]) => {
    for (let n = 0; n < b; n++) for (let p = 0; p < hw; p++) {
      const from = (n * hw + p) * c;
      out.set(src!.subarray(from, from + c), (p * b + n) * c);
    }
  });
}

/**
 * [Ci, ≥KH, ≥KW, Co] → [KH, KW, Ci, Co] (cropping the extra rows/columns): rows of Co values move as blocks,
 * copied in the heap. wasm's Transpose moves element by element: ~45 ms for a 3×3×512×512 filter gradient.
 */
function ciToFilterLayout(tf: Tf, out: T4, kh: number, kw: number): T4 {
  const [ci, oh, ow, co] = out.shape;
  return tensorFromHeap<T4>(tf, [kh, kw, ci, co], [out], (dst, [src]) => {
    for (let c = 0; c < ci; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const from = ((c * oh + i) * ow + j) * co;
      dst.set(src!.subarray(from, from + co), ((i * kw + j) * ci + c) * co);
    }
  });
}

/**
 * The filter restricted to the taps th × tw (original indices), rotated by 180° and with in/out channels
 * swapped: [nh, nw, Co, Ci] where entry (m, n) holds W[th[nh−1−m], tw[nw−1−n]]ᵀ. All of it in JS on the
 * filter data: wasm's Reverse and StridedSlice kernels take as long as a convolution on a 3×3×256×256
 * filter, and its Transpose ~45 ms for the channel swap of a 3×3×512×512 one (element by element); the
 * blocked loop below does that swap in a few.
 */
function flippedTaps(tf: Tf, filter: T4, th: number[], tw: number[]): T4 {
  const [, kw, ci, co] = filter.shape;
  const nh = th.length, nw = tw.length, block = ci * co;
  return tensorFromHeap<T4>(tf, [nh, nw, co, ci], [filter], (out, [src]) => {
    for (let m = 0; m < nh; m++) for (let n = 0; n < nw; n++) {
      const from = (th[nh - 1 - m]! * kw + tw[nw - 1 - n]!) * block;
      transposeBlock(src!, from, out, (m * nw + n) * block, ci, co);
    }
  });
}

/** dst[at + c·rows + r] = src[from + r·cols + c] for a rows × cols block, in 32 × 32 tiles (cache-friendly). */
function transposeBlock(src: Float32Array, from: number, dst: Float32Array, at: number, rows: number, cols: number): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const s = from + r * cols;
        for (let c = c0; c < c1; c++) dst[at + c * rows + r] = src[s + c]!;
      }
    }
  }
}

/**
 * One phase of the input gradient along one axis: input rows i ≡ φ − T (mod s) receive
 * dx[φ − T + s·q] = Σ_j dy[q − j] · W[φ + s·j]. Returns the taps φ, φ+s, … and the pads for a stride-1
 * 'full' correlation that yields q = qStart … qStart + count − 1.
 */
interface Phase { phi: number; taps: number[]; qStart: number; count: number }

function phases(k: number, s: number, pad: number, inSize: number): Phase[] {
  const out: Phase[] = [];
  for (let phi = 0; phi < s; phi++) {
    const taps: number[] = [];
    for (let t = phi; t < k; t += s) taps.push(t);
    // rows i = s·q + φ − T inside [0, inSize)
    const qStart = Math.ceil((pad - phi) / s), qEnd = Math.floor((inSize - 1 + pad - phi) / s);
    out.push({ phi, taps, qStart, count: Math.max(0, qEnd - qStart + 1) });
  }
  return out;
}

/**
 * dx for conv2d(x, W) given dy. Stride 1: one convolution of dy with the flipped, transposed filter.
 * Stride s: each of the s² phases (input rows/cols ≡ φ − T mod s) is a stride-1 convolution with only
 * that phase's taps, computed for exactly the rows it owns (no work on inserted zeros or on rows outside
 * the input), and the phases are interleaved into dx in JS (wasm's DepthToSpace/6-D Transpose cost more
 * than the convolutions of the small layers).
 */
export function conv2dBackpropInputAsConv(tf: Tf, dy: T4, filter: T4, inputShape: [number, number, number, number], a: ConvGradAttrs): T4 {
  const info = convInfo(tf, inputShape, filter.shape, a);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const { top, left } = info.padInfo;
  const conv = (rows: Phase, cols: Phase) => tf.tidy(() => phaseConv(tf, dy, flippedTaps(tf, filter, rows.taps, cols.taps), rows, cols));
  if (sh === 1 && sw === 1) return conv({ phi: 0, taps: range(kh), qStart: top, count: h }, { phi: 0, taps: range(kw), qStart: left, count: w });
  const [b, , , ci] = inputShape;
  const outs: { p: Phase; q: Phase; t: T4 }[] = [];
  for (const p of phases(kh, sh, top, h)) for (const q of phases(kw, sw, left, w)) {
    if (p.taps.length && q.taps.length && p.count && q.count) outs.push({ p, q, t: conv(p, q) }); // [B, p.count, q.count, Ci]
  }
  try {
    return tensorFromHeap<T4>(tf, inputShape, outs.map((o) => o.t), (dx, ds) => {
      dx.fill(0); // rows no phase owns (no tap reaches them) stay 0
      outs.forEach(({ p, q }, k) => {
        const d = ds[k]!;
        for (let n = 0; n < b; n++) for (let r = 0; r < p.count; r++) {
          const i = sh * (p.qStart + r) + p.phi - top; // row r of the phase is input row i
          for (let c = 0; c < q.count; c++) {
            const j = sw * (q.qStart + c) + q.phi - left;
            const from = ((n * p.count + r) * q.count + c) * ci;
            dx.set(d.subarray(from, from + ci), ((n * h + i) * w + j) * ci);
          }
        }
      });
    });
  } finally {
    for (const o of outs) o.t.dispose();
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * out[q] = Σ_j dy[q − j] · W[taps[j]] for q = qStart … qStart+count−1 on both axes, as a stride-1
 * convolution of dy (explicitly padded/cropped) with the phase's flipped sub-filter `sub` ([nh, nw, Co, Ci]).
 * With sub[m] = W[taps[nh−1−m]], out[q] = Σ_m dyPad[q − qStart + m] · sub[m] where dyPad starts at dy row
 * qStart − (nh − 1): pad nh − 1 − qStart in front, and enough behind for `count` outputs.
 */
function phaseConv(tf: Tf, dy: T4, sub: T4, rows: Phase, cols: Phase): T4 {
  const nh = rows.taps.length, nw = cols.taps.length;
  const [, oh, ow] = dy.shape;
  const front = nh - 1 - rows.qStart, left = nw - 1 - cols.qStart;
  const back = rows.count + nh - 1 - front - oh, right = cols.count + nw - 1 - left - ow;
  return convPadded(tf, dy, sub, [front, back, left, right]);
}
