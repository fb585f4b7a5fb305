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
  return tf.tidy(() => {
    const xT = tf.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, B]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, B, Co] used as the filter
    // Rows needed: (OH−1)·s + K starting at −top. Extra rows at the bottom (padding < 0) would only add
    // output rows beyond K, so pad at least 0 there and crop the small output instead.
    const bottom = (oh - 1) * sh + kh - x.shape[1] - top, right = (ow - 1) * sw + kw - x.shape[2] - left;
    const out = convPadded(tf, xT, dyT, [top, Math.max(0, bottom), left, Math.max(0, right)], [sh, sw]); // [Ci, ≥KH, ≥KW, Co]
    const cropped = out.shape[1] === kh && out.shape[2] === kw ? out : tf.slice(out, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cropped, [1, 2, 0, 3]);
  });
}

/**
 * The filter restricted to the taps th × tw (original indices), rotated by 180° and with in/out channels
 * swapped: [nh, nw, Co, Ci] where entry (m, n) holds W[th[nh−1−m], tw[nw−1−n]]ᵀ. The rotation and tap
 * selection are JS block copies of the filter data (wasm's Reverse and StridedSlice kernels take as long
 * as a convolution on a 3×3×256×256 filter); the channel swap is a backend transpose.
 */
function flippedTaps(tf: Tf, src: Float32Array, shape: number[], th: number[], tw: number[]): T4 {
  const [, kw, ci, co] = shape as [number, number, number, number];
  const nh = th.length, nw = tw.length, block = ci * co;
  const out = new Float32Array(nh * nw * block);
  for (let m = 0; m < nh; m++) for (let n = 0; n < nw; n++) {
    const from = (th[nh - 1 - m]! * kw + tw[nw - 1 - n]!) * block;
    out.set(src.subarray(from, from + block), (m * nw + n) * block);
  }
  return tf.tidy(() => tf.transpose(tf.tensor4d(out, [nh, nw, ci, co]), [0, 1, 3, 2]));
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
  const src = filter.dataSync() as Float32Array;
  const conv = (rows: Phase, cols: Phase) => tf.tidy(() => phaseConv(tf, dy, flippedTaps(tf, src, filter.shape, rows.taps, cols.taps), rows, cols));
  if (sh === 1 && sw === 1) return conv({ phi: 0, taps: range(kh), qStart: top, count: h }, { phi: 0, taps: range(kw), qStart: left, count: w });
  const [b, , , ci] = inputShape;
  const dx = new Float32Array(b * h * w * ci); // rows no phase owns (no tap reaches them) stay 0
  for (const p of phases(kh, sh, top, h)) for (const q of phases(kw, sw, left, w)) {
    if (!p.taps.length || !q.taps.length || !p.count || !q.count) continue;
    const t = conv(p, q); // [B, p.count, q.count, Ci]: row r is input row sh·(p.qStart + r) + p.phi − top
    const d = t.dataSync() as Float32Array;
    t.dispose();
    for (let n = 0; n < b; n++) for (let r = 0; r < p.count; r++) {
      const i = sh * (p.qStart + r) + p.phi - top;
      for (let c = 0; c < q.count; c++) {
        const j = sw * (q.qStart + c) + q.phi - left;
        const from = ((n * p.count + r) * q.count + c) * ci;
        dx.set(d.subarray(from, from + ci), ((n * h + i) * w + j) * ci);
      }
    }
  }
  return tf.tensor4d(dx, inputShape);
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
