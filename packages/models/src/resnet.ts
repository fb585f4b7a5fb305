/**
 * torchvision ResNet (v1.5: stride on the 3×3 conv of a Bottleneck) in tf.layers. Layer names equal the
 * torchvision state_dict prefixes: `conv1`, `bn1`, `layer{1..4}.{i}.conv{1,2,3}`, `.bn{1,2,3}`,
 * `.downsample.0` (1×1 conv), `.downsample.1` (BatchNorm), `fc`.
 */
import { bn, conv, head, maxPool, relu, type InitSeed } from "./layers.ts";
import type { ResolvedModelOptions, LayersModel, SymbolicTensor, Tf } from "./types.ts";

export interface ResNetSpec {
  name: string;
  block: "basic" | "bottleneck";
  layers: [number, number, number, number];
  /** Bottleneck width per group relative to 64 (torchvision `width_per_group`): 64, or 128 for wide_resnet50_2. */
  widthPerGroup: number;
}

export const RESNETS = {
  resnet18: { name: "resnet18", block: "basic", layers: [2, 2, 2, 2], widthPerGroup: 64 },
  resnet50: { name: "resnet50", block: "bottleneck", layers: [3, 4, 6, 3], widthPerGroup: 64 },
  wide_resnet50_2: { name: "wide_resnet50_2", block: "bottleneck", layers: [3, 4, 6, 3], widthPerGroup: 128 },
} as const satisfies Record<string, ResNetSpec>;

const add = (tf: Tf, a: SymbolicTensor, b: SymbolicTensor, name: string) => tf.layers.add({ name }).apply([a, b]) as SymbolicTensor;

function shortcut(tf: Tf, x: SymbolicTensor, p: string, outC: number, stride: number, seed: InitSeed): SymbolicTensor {
  const inC = x.shape[3] as number;
  if (stride === 1 && inC === outC) return x;
  return bn(tf, conv(tf, x, { name: `${p}.downsample.0`, filters: outC, kernel: 1, stride }, seed), `${p}.downsample.1`, seed);
}

function basicBlock(tf: Tf, x: SymbolicTensor, p: string, planes: number, stride: number, seed: InitSeed): SymbolicTensor {
  const identity = shortcut(tf, x, p, planes, stride, seed);
  let y = relu(tf, bn(tf, conv(tf, x, { name: `${p}.conv1`, filters: planes, kernel: 3, stride, pad: 1 }, seed), `${p}.bn1`, seed), `${p}.relu1`);
  y = bn(tf, conv(tf, y, { name: `${p}.conv2`, filters: planes, kernel: 3, pad: 1 }, seed), `${p}.bn2`, seed);
  return relu(tf, add(tf, y, identity, `${p}.add`), `${p}.relu`);
}

function bottleneck(tf: Tf, x: SymbolicTensor, p: string, planes: number, stride: number, spec: ResNetSpec, seed: InitSeed): SymbolicTensor {
  const width = Math.floor(planes * (spec.widthPerGroup / 64));
  const identity = shortcut(tf, x, p, planes * 4, stride, seed);
  let y = relu(tf, bn(tf, conv(tf, x, { name: `${p}.conv1`, filters: width, kernel: 1 }, seed), `${p}.bn1`, seed), `${p}.relu1`);
  y = relu(tf, bn(tf, conv(tf, y, { name: `${p}.conv2`, filters: width, kernel: 3, stride, pad: 1 }, seed), `${p}.bn2`, seed), `${p}.relu2`);
  y = bn(tf, conv(tf, y, { name: `${p}.conv3`, filters: planes * 4, kernel: 1 }, seed), `${p}.bn3`, seed);
  return relu(tf, add(tf, y, identity, `${p}.add`), `${p}.relu`);
}

export function buildResNet(tf: Tf, spec: ResNetSpec, opts: ResolvedModelOptions): LayersModel {
  const seed: InitSeed = { base: opts.seed, next: 0, init: opts.init, batchNorm: opts.batchNorm };
  const input = tf.input({ shape: [opts.imageSize, opts.imageSize, opts.channels], name: "input" });
  let x = conv(tf, input, { name: "conv1", filters: 64, kernel: 7, stride: 2, pad: 3 }, seed);
  x = maxPool(tf, relu(tf, bn(tf, x, "bn1", seed), "relu"), "maxpool", 3, 2, 1);
  [64, 128, 256, 512].forEach((planes, li) => {
    for (let i = 0; i < spec.layers[li]!; i++) {
      const p = `layer${li + 1}.${i}`, stride = i === 0 && li > 0 ? 2 : 1;
      x = spec.block === "basic" ? basicBlock(tf, x, p, planes, stride, seed) : bottleneck(tf, x, p, planes, stride, spec, seed);
    }
  });
  return tf.model({ inputs: input, outputs: head(tf, x, "fc", opts.numClasses, seed), name: spec.name });
}
