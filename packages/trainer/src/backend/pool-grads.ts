/**
 * MaxPoolGrad for the wasm backend in plain JS over the tensors' data. The shipped wasm kernel costs about
 * eight times a ReLU over the same input (ResNet/DenseNet stem: [32, 34, 34, 64] → 16×16); this one loops
 * once over output pixels × taps with channels innermost (contiguous in NHWC).
 *
 * Semantics equal the cpu backend's: each output's gradient goes to the FIRST maximum of its window in
 * row-major tap order (strictly greater replaces), taps outside the input are skipped.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import { tensorFromHeap } from "./heap.ts";

type Tf = typeof tfTypes;

export interface PoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: "valid" | "same" | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

export function maxPoolGradJs(tf: Tf, dy: tfTypes.Tensor4D, x: tfTypes.Tensor4D, a: PoolGradAttrs): tfTypes.Tensor4D {
  const info = tf.backend_util.computePool2DInfo(x.shape, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  return tensorFromHeap<tfTypes.Tensor4D>(tf, x.shape, [x, dy], (dx, [xv, dyv]) => {
    dx.fill(0);
    const best = new Float32Array(c), arg = new Int32Array(c);
    for (let b = 0; b < nb; b++) {
      for (let r = 0; r < oh; r++) {
        for (let q = 0; q < ow; q++) {
          best.fill(-Infinity);
          arg.fill(-1);
          for (let i = 0; i < fh; i++) {
            const y = r * sh - top + i;
            if (y < 0 || y >= h) continue;
            for (let j = 0; j < fw; j++) {
              const xx = q * sw - left + j;
              if (xx < 0 || xx >= w) continue;
              const base = ((b * h + y) * w + xx) * c;
              for (let k = 0; k < c; k++) {
                const v = xv![base + k]!;
                if (v > best[k]! || arg[k] === -1) { best[k] = v; arg[k] = base + k; }
              }
            }
          }
          const o = ((b * oh + r) * ow + q) * c;
          for (let k = 0; k < c; k++) if (arg[k]! >= 0) dx[arg[k]!] += dyv![o + k]!;
        }
      }
    }
  });
}
