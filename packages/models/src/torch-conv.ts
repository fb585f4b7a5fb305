/**
 * Conv2D with torch's symmetric padding (`padding=p` on every side), for strided convolutions.
 *
 * tf.layers only offers 'same' (which pads the extra pixel at the bottom/right) and 'valid'; emulating torch
 * with a ZeroPadding2D layer in front costs a copy of the activation forward, a slice backward, and makes
 * the input gradient compute the padding border too. This subclass passes the padding to the convolution
 * op itself. Serialised as "TorchConv2D" (registered with tf.serialization) with a `torchPadding` field, so
 * a saved topology never reloads as an unpadded stock Conv2D.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import type { Tf } from "./types.ts";

type ConvArgs = Parameters<Tf["layers"]["conv2d"]>[0];
export type TorchConvArgs = ConvArgs & { torchPadding: number };
type Ctor = new (args: TorchConvArgs) => tfTypes.layers.Layer;
interface ConvInternals { kernel: { read(): tfTypes.Tensor4D }; strides: number[]; kernelSize: number[]; filters: number; useBias: boolean }

const classes = new WeakMap<object, Ctor>();

/**
 * Registers the layer classes our models use beyond stock tf.layers (TorchConv2D) with tf.serialization.
 * Building any model does it; call it before `tf.loadLayersModel` in a process that has not built one.
 */
export function registerCustomLayers(tf: Tf): void {
  torchConvClass(tf);
}

export function torchConvClass(tf: Tf): Ctor {
  const cached = classes.get(tf);
  if (cached) return cached;
  const Base = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as new (args: ConvArgs) => tfTypes.layers.Layer;
  class TorchConv2D extends Base {
    static className = "TorchConv2D";
    readonly torchPadding: number;
    constructor(args: TorchConvArgs) {
      super({ ...args, padding: "valid", useBias: false });
      if (!Number.isInteger(args.torchPadding) || args.torchPadding < 0) throw new Error(`TorchConv2D ${args.name}: torchPadding must be a non-negative integer, got ${args.torchPadding}`);
      this.torchPadding = args.torchPadding;
    }
    override call(inputs: tfTypes.Tensor | tfTypes.Tensor[]): tfTypes.Tensor {
      const self = this as unknown as ConvInternals;
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tfTypes.Tensor4D;
      const p = this.torchPadding;
      return tf.conv2d(x, self.kernel.read(), self.strides as [number, number], [[0, 0], [p, p], [p, p], [0, 0]]);
    }
    override computeOutputShape(inputShape: tfTypes.Shape | tfTypes.Shape[]): tfTypes.Shape {
      const self = this as unknown as ConvInternals;
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfTypes.Shape;
      const out = (n: number | null, i: number) => (n == null ? null : Math.floor((n + 2 * this.torchPadding - self.kernelSize[i]!) / self.strides[i]!) + 1);
      return [s[0]!, out(s[1]!, 0), out(s[2]!, 1), self.filters];
    }
    override getConfig(): tfTypes.serialization.ConfigDict {
      return { ...super.getConfig(), torchPadding: this.torchPadding };
    }
  }
  tf.serialization.registerClass(TorchConv2D as unknown as tfTypes.serialization.SerializableConstructor<tfTypes.serialization.Serializable>);
  classes.set(tf, TorchConv2D);
  return TorchConv2D;
}
