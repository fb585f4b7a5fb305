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

/** Crops or zero-pads axis 1 and 2 of `t` so that they start at `from` and have length `len` (from may be < 0). */
function window2d(tf: Tf, t: T4, fromH: number, lenH: number, fromW: number, lenW: number): T4 {
  const [, h, w] = t.shape;
  const cropTop = Math.max(0, fromH), cropLeft = Math.max(0, fromW);
  const padTop = Math.max(0, -fromH), padLeft = Math.max(0, -fromW);
  const keepH = Math.min(h - cropTop, lenH - padTop), keepW = Math.min(w - cropLeft, lenW - padLeft);
  let r = t;
  if (cropTop > 0 || cropLeft > 0 || keepH < h || keepW < w) r = tf.slice(r, [0, cropTop, cropLeft, 0], [-1, keepH, keepW, -1]);
  const padBottom = lenH - padTop - keepH, padRight = lenW - padLeft - keepW;
  if (padTop || padLeft || padBottom || padRight) r = tf.pad(r, [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]]);
  return r;
}

/** dW for conv2d(x, W) given dy: a dilated convolution over the batch-transposed input. */
export function conv2dBackpropFilterAsConv(tf: Tf, x: T4, dy: T4, filterShape: [number, number, number, number], a: ConvGradAttrs): T4 {
  const info = convInfo(tf, x.shape, filterShape, a);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  return tf.tidy(() => {
    const xw = window2d(tf, x, -info.padInfo.top, (oh - 1) * sh + kh, -info.padInfo.left, (ow - 1) * sw + kw);
    const xT = tf.transpose(xw, [3, 1, 2, 0]); // [Ci, Hw, Ww, B]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, B, Co] used as the filter
    const out = tf.conv2d(xT, dyT, 1, "valid", "NHWC", [sh, sw]); // [Ci, KH, KW, Co]
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

/**
 * Rotates a HWIO filter by 180° in H and W. Done in JS with one block copy per tap: wasm's Reverse kernel
 * takes as long as a convolution for a 3×3×256×256 filter.
 */
function flipSpatial(tf: Tf, filter: T4): T4 {
  const [kh, kw, ci, co] = filter.shape;
  const src = filter.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  const block = ci * co, taps = kh * kw;
  for (let t = 0; t < taps; t++) out.set(src.subarray(t * block, (t + 1) * block), (taps - 1 - t) * block);
  return tf.tensor4d(out, filter.shape);
}

/** Inserts s−1 zero rows/columns between the rows/columns of t (stride-s "dilation" of dy). */
function dilate(tf: Tf, t: T4, sh: number, sw: number): T4 {
  if (sh === 1 && sw === 1) return t;
  const [b, h, w, c] = t.shape;
  const e = tf.reshape(t, [b, h, 1, w, 1, c]);
  const p = tf.pad(e, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.slice(tf.reshape(p, [b!, h! * sh, w! * sw, c!]) as T4, [0, 0, 0, 0], [-1, (h! - 1) * sh + 1, (w! - 1) * sw + 1, -1]);
}

/** dx for conv2d(x, W) given dy: a stride-1 convolution of the dilated dy with the flipped, transposed filter. */
export function conv2dBackpropInputAsConv(tf: Tf, dy: T4, filter: T4, inputShape: [number, number, number, number], a: ConvGradAttrs): T4 {
  const info = convInfo(tf, inputShape, filter.shape, a);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  return tf.tidy(() => {
    if (kh === 1 && kw === 1) {
      // 1×1: multiply channels first on the small dy, then spread onto the strided grid.
      const z = tf.conv2d(dy, tf.transpose(filter, [0, 1, 3, 2]), 1, "valid");
      return window2d(tf, dilate(tf, z, sh, sw), info.padInfo.top, h, info.padInfo.left, w);
    }
    const flipped = tf.transpose(flipSpatial(tf, filter), [0, 1, 3, 2]); // [KH, KW, Co, Ci]
    const d = dilate(tf, dy, sh, sw);
    const dp = window2d(tf, d, -(kh - 1 - info.padInfo.top), h + kh - 1, -(kw - 1 - info.padInfo.left), w + kw - 1);
    return tf.conv2d(dp, flipped as T4, 1, "valid");
  });
}
