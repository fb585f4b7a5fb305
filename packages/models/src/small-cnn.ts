/**
 * small_cnn: a demo/CPU architecture for 32–64 px images. Four blocks of conv3×3 → BatchNorm → ReLU
 * (widths 16, 32, 64, 128; blocks 2–4 downsample with stride 2), global average pooling and a Linear head
 * producing logits. 98,067 trainable parameters for 3 classes.
 *
 * Layer names follow the torchvision convention (`features.N.conv`, `features.N.bn`, `fc`) so that
 * weight import by name works for it as for the big nets.
 */
import { bn, conv, head, relu, type InitSeed } from "./layers.ts";
import type { LayersModel, ResolvedModelOptions, SymbolicTensor, Tf } from "./types.ts";

export const SMALL_CNN_WIDTHS = [16, 32, 64, 128] as const;

export function buildSmallCnn(tf: Tf, opts: ResolvedModelOptions): LayersModel {
  const seed: InitSeed = { base: opts.seed, next: 0, init: opts.init, batchNorm: opts.batchNorm };
  const input = tf.input({ shape: [opts.imageSize, opts.imageSize, opts.channels], name: "input" });
  let x: SymbolicTensor = input;
  SMALL_CNN_WIDTHS.forEach((width, i) => {
    const p = `features.${i}`;
    x = conv(tf, x, { name: `${p}.conv`, filters: width, kernel: 3, stride: i === 0 ? 1 : 2, pad: 1 }, seed);
    x = relu(tf, bn(tf, x, `${p}.bn`, seed), `${p}.relu`);
  });
  return tf.model({ inputs: input, outputs: head(tf, x, "fc", opts.numClasses, seed), name: "small_cnn" });
}
