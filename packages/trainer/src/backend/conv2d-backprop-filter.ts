/**
 * `Conv2DBackpropFilter` for the wasm backend, which tfjs-backend-wasm 4.22 does not register (training any
 * conv net on wasm throws without it).
 *
 * Formulation ("per-tap GEMM"): for each filter tap (kh, kw) the input pixels that tap saw form a strided
 * slice of the padded input, [B, OH, OW, Ci]; the tap's weight gradient is that slice, flattened to
 * [B*OH*OW, Ci], transposed and multiplied by dy flattened to [B*OH*OW, Co]. All heavy work runs in the
 * backend's own (XNNPACK) matMul; slicing costs one pass over the input per tap.
 *
 * Invariant: the result equals the cpu backend's kernel for NHWC, any strides, dilation 1 (tfjs forbids
 * dilation > 1 together with the filter gradient), and 'same'/'valid'/explicit padding.
 */
import type * as tfTypes from "@tensorflow/tfjs";

type Tf = typeof tfTypes;

export interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

/** Computes dW with ops of the active backend; caller owns the returned tensor. */
export function conv2dBackpropFilterPerTap(tf: Tf, x: tfTypes.Tensor4D, dy: tfTypes.Tensor4D, attrs: Conv2DBackpropFilterAttrs): tfTypes.Tensor4D {
  if (attrs.dataFormat !== "NHWC") throw new Error(`Conv2DBackpropFilter(wasm): dataFormat ${attrs.dataFormat} unsupported, only NHWC`);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad as never, attrs.dimRoundingMode, false, "channelsLast",
  );
  const { batchSize: b, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const ci = info.inChannels, co = info.outChannels;
  const { top, left } = info.padInfo;
  return tf.tidy(() => {
    // Pad so that every tap's strided window lies inside the tensor (bottom/right may need more than padInfo
    // says when the window overhangs; those rows are never read with a non-zero dy, except as padding zeros).
    const needH = (oh - 1) * sh + kh, needW = (ow - 1) * sw + kw;
    const bottom = Math.max(0, needH - top - x.shape[1]), right = Math.max(0, needW - left - x.shape[2]);
    const xp = top || left || bottom || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const dy2 = tf.reshape(dy, [b * oh * ow, co]);
    const taps: tfTypes.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const win = sh === 1 && sw === 1
          ? tf.slice(xp, [0, i, j, 0], [b, oh, ow, ci])
          : tf.stridedSlice(xp, [0, i, j, 0], [b, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, ci], [1, sh, sw, 1]);
        taps.push(tf.matMul(tf.reshape(win, [b * oh * ow, ci]), dy2, true, false));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, ci, co]) as tfTypes.Tensor4D;
  });
}
