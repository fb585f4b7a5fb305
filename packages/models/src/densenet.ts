/**
 * torchvision DenseNet-BC in tf.layers (growth 32, bn_size 4, 64 initial features, compression 0.5).
 * Layer names equal the torchvision state_dict prefixes: `features.conv0`, `features.norm0`,
 * `features.denseblock{b}.denselayer{l}.{norm1,conv1,norm2,conv2}`, `features.transition{b}.{norm,conv}`,
 * `features.norm5`, `classifier`.
 */
import { bn, conv, head, maxPool, relu, type InitSeed } from "./layers.ts";
import type { ResolvedModelOptions, LayersModel, SymbolicTensor, Tf } from "./types.ts";

export interface DenseNetSpec {
  name: string;
  blockConfig: readonly number[];
  growthRate: number;
  bnSize: number;
  initFeatures: number;
}

export const DENSENETS = {
  densenet121: { name: "densenet121", blockConfig: [6, 12, 24, 16], growthRate: 32, bnSize: 4, initFeatures: 64 },
  densenet169: { name: "densenet169", blockConfig: [6, 12, 32, 32], growthRate: 32, bnSize: 4, initFeatures: 64 },
} as const satisfies Record<string, DenseNetSpec>;

/** Smallest input side for which every transition's 2×2 average pool still has a pixel (stride 32 overall). */
export const DENSENET_MIN_IMAGE_SIZE = 32;

function denseLayer(tf: Tf, x: SymbolicTensor, p: string, spec: DenseNetSpec, seed: InitSeed): SymbolicTensor {
  let y = relu(tf, bn(tf, x, `${p}.norm1`, seed), `${p}.relu1`);
  y = conv(tf, y, { name: `${p}.conv1`, filters: spec.bnSize * spec.growthRate, kernel: 1, mode: "fanIn" }, seed);
  y = relu(tf, bn(tf, y, `${p}.norm2`, seed), `${p}.relu2`);
  y = conv(tf, y, { name: `${p}.conv2`, filters: spec.growthRate, kernel: 3, pad: 1, mode: "fanIn" }, seed);
  return tf.layers.concatenate({ axis: 3, name: `${p}.cat` }).apply([x, y]) as SymbolicTensor;
}

function transition(tf: Tf, x: SymbolicTensor, p: string, outC: number, seed: InitSeed): SymbolicTensor {
  let y = relu(tf, bn(tf, x, `${p}.norm`, seed), `${p}.relu`);
  y = conv(tf, y, { name: `${p}.conv`, filters: outC, kernel: 1, mode: "fanIn" }, seed);
  return tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: "valid", name: `${p}.pool` }).apply(y) as SymbolicTensor;
}

export function buildDenseNet(tf: Tf, spec: DenseNetSpec, opts: ResolvedModelOptions): LayersModel {
  const seed: InitSeed = { base: opts.seed, next: 0, init: opts.init, batchNorm: opts.batchNorm };
  const input = tf.input({ shape: [opts.imageSize, opts.imageSize, opts.channels], name: "input" });
  let x = conv(tf, input, { name: "features.conv0", filters: spec.initFeatures, kernel: 7, stride: 2, pad: 3, mode: "fanIn" }, seed);
  x = maxPool(tf, relu(tf, bn(tf, x, "features.norm0", seed), "features.relu0"), "features.pool0", 3, 2, 1);
  let features = spec.initFeatures;
  spec.blockConfig.forEach((n, bi) => {
    for (let l = 0; l < n; l++) x = denseLayer(tf, x, `features.denseblock${bi + 1}.denselayer${l + 1}`, spec, seed);
    features += n * spec.growthRate;
    if (bi < spec.blockConfig.length - 1) {
      features = Math.floor(features / 2);
      x = transition(tf, x, `features.transition${bi + 1}`, features, seed);
    }
  });
  x = relu(tf, bn(tf, x, "features.norm5", seed), "features.relu5");
  // torchvision initialises the classifier bias to 0 for DenseNet.
  return tf.model({ inputs: input, outputs: head(tf, x, "classifier", opts.numClasses, seed, true), name: spec.name });
}
