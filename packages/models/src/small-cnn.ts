/**
 * small_cnn: a demo/CPU architecture for 32–64 px images. Four blocks of conv3×3 → BatchNorm → ReLU
 * (widths 16, 32, 64, 128; blocks 2–4 downsample with stride 2), global average pooling and a dense head
 * producing logits. About 100k trainable parameters; trains in seconds per epoch on wasm at 32 px.
 *
 * Layer names follow the torchvision convention (`features.N.conv`, `features.N.bn`, `fc`) so that
 * weight import by name works for it as for the big nets.
 */
import type { BuildModelOptions, LayersModel, SymbolicTensor, Tf } from "./types.ts";

export const SMALL_CNN_WIDTHS = [16, 32, 64, 128] as const;

export function buildSmallCnn(tf: Tf, opts: Required<BuildModelOptions>): LayersModel {
  const input = tf.input({ shape: [opts.imageSize, opts.imageSize, opts.channels], name: "input" });
  let x: SymbolicTensor = input;
  SMALL_CNN_WIDTHS.forEach((width, i) => {
    x = tf.layers.conv2d({
      filters: width, kernelSize: 3, strides: i === 0 ? 1 : 2, padding: "same", useBias: false,
      kernelInitializer: "heNormal", name: `features.${i}.conv`,
    }).apply(x) as SymbolicTensor;
    x = tf.layers.batchNormalization({ axis: 3, momentum: 0.9, epsilon: 1e-5, name: `features.${i}.bn` }).apply(x) as SymbolicTensor;
    x = tf.layers.reLU({ name: `features.${i}.relu` }).apply(x) as SymbolicTensor;
  });
  x = tf.layers.globalAveragePooling2d({ name: "avgpool" }).apply(x) as SymbolicTensor;
  const logits = tf.layers.dense({ units: opts.numClasses, name: "fc" }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: "small_cnn" });
}
