/**
 * Layer helpers reproducing torch's conv/pool arithmetic in tf.layers.
 *
 * Padding invariant: torch pads symmetrically (`padding=p` on each side); tf's 'same' pads the extra pixel at
 * the bottom/right when the total is odd, which shifts every stride-2 output by one pixel against torch. So
 * every convolution with p > 0 is a TorchConv2D (padding inside the conv op, torch-conv.ts). That also
 * keeps stride-1 convolutions off tfjs's fused-conv path, whose custom gradient always computes the input
 * gradient, even for the network input (wasted work at full resolution). Max pooling
 * gets an explicit ZeroPadding2D: it is only ever applied after a ReLU here, so zero padding is equivalent
 * to torch's -inf padding.
 */
import { batchNorm, type BatchNormImpl } from "./batch-norm.ts";
import { torchConvClass } from "./torch-conv.ts";
import type { SymbolicTensor, Tf } from "./types.ts";

export interface InitSeed {
  /** Base seed for weight initialisers; undefined = unseeded. Each layer derives its own seed from it. */
  base: number | undefined;
  next: number;
  /** "zeros" replaces every random initialiser (weights are about to be overwritten). */
  init: "random" | "zeros";
  /** BatchNorm training implementation (see batch-norm.ts). */
  batchNorm: BatchNormImpl;
}

function seedFor(seed: InitSeed): number | undefined {
  return seed.base === undefined ? undefined : seed.base + seed.next++;
}

export interface ConvSpec {
  name: string;
  filters: number;
  kernel: number;
  stride?: number;
  /** Symmetric zero padding on each side, as torch's `padding`. @defaultValue 0 */
  pad?: number;
  /** torch's kaiming_normal_ mode: ResNet uses fan_out, DenseNet fan_in. @defaultValue "fanOut" */
  mode?: "fanIn" | "fanOut";
}

export function conv(tf: Tf, x: SymbolicTensor, s: ConvSpec, seed: InitSeed): SymbolicTensor {
  const stride = s.stride ?? 1, pad = s.pad ?? 0;
  const args = {
    filters: s.filters, kernelSize: s.kernel, strides: stride, useBias: false, name: s.name,
    kernelInitializer: seed.init === "zeros" ? "zeros" as const
      : tf.initializers.varianceScaling({ scale: 2, mode: s.mode ?? "fanOut", distribution: "normal", seed: seedFor(seed) }),
  };
  if (pad === 0) return tf.layers.conv2d({ ...args, padding: "valid" }).apply(x) as SymbolicTensor;
  return new (torchConvClass(tf))({ ...args, torchPadding: pad }).apply(x) as SymbolicTensor;
}

/** BatchNorm2d with torch's defaults: eps 1e-5, momentum 0.1 (Keras momentum 0.9), gamma 1, beta 0. */
export function bn(tf: Tf, x: SymbolicTensor, name: string, seed: InitSeed): SymbolicTensor {
  return batchNorm(tf, x, name, seed.batchNorm);
}

export function relu(tf: Tf, x: SymbolicTensor, name: string): SymbolicTensor {
  return tf.layers.reLU({ name }).apply(x) as SymbolicTensor;
}

/** torch MaxPool2d(kernel, stride, padding) applied to non-negative inputs. */
export function maxPool(tf: Tf, x: SymbolicTensor, name: string, kernel: number, stride: number, pad: number): SymbolicTensor {
  if (pad > 0) x = tf.layers.zeroPadding2d({ padding: pad, name: `${name}.pad` }).apply(x) as SymbolicTensor;
  return tf.layers.maxPooling2d({ poolSize: kernel, strides: stride, padding: "valid", name }).apply(x) as SymbolicTensor;
}

/** Global average pooling + Linear head producing logits, torch's default Linear init (uniform ±1/√in). */
export function head(tf: Tf, x: SymbolicTensor, name: string, numClasses: number, seed: InitSeed, zeroBias = false): SymbolicTensor {
  x = tf.layers.globalAveragePooling2d({ name: "avgpool" }).apply(x) as SymbolicTensor;
  const fanIn = x.shape[x.shape.length - 1] as number;
  const bound = 1 / Math.sqrt(fanIn);
  const uniform = () => tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: seedFor(seed) });
  const zeros = seed.init === "zeros";
  return tf.layers.dense({
    units: numClasses, name,
    kernelInitializer: zeros ? "zeros" : uniform(),
    biasInitializer: zeros || zeroBias ? "zeros" : uniform(),
  }).apply(x) as SymbolicTensor;
}
