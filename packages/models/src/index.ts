/**
 * @hypersweep/models: the paper's architectures in tf.layers, in torchvision's layout and naming, and
 * torchvision weight import. Every builder takes the tfjs namespace `tf` as its first argument (use the one
 * returned by @hypersweep/trainer's `loadBackend()`), so there is exactly one tfjs-core in the process.
 * Models output logits (no softmax): the loss applies softmax.
 */
import type { Architecture } from "@hypersweep/core";
import { buildDenseNet, DENSENET_MIN_IMAGE_SIZE, DENSENETS } from "./densenet.ts";
import { buildResNet, RESNETS } from "./resnet.ts";
import { buildSmallCnn } from "./small-cnn.ts";
import { ModelConfigError, type BuildModelOptions, type LayersModel, type ResolvedModelOptions, type Tf } from "./types.ts";

export { ModelConfigError, type BuildModelOptions, type LayersModel, type ResolvedModelOptions, type Tf } from "./types.ts";
export { SMALL_CNN_WIDTHS } from "./small-cnn.ts";
export { batchNormTrainingOp, type BatchNormImpl } from "./batch-norm.ts";
export { registerCustomLayers } from "./torch-conv.ts";
export { RESNETS, type ResNetSpec } from "./resnet.ts";
export { DENSENETS, DENSENET_MIN_IMAGE_SIZE, type DenseNetSpec } from "./densenet.ts";

/** Smallest square input each architecture accepts (every downsampling stage keeps at least one pixel). */
export const MIN_IMAGE_SIZE: Record<Architecture, number> = {
  small_cnn: 8, resnet18: 8, resnet50: 8, wide_resnet50_2: 8,
  densenet121: DENSENET_MIN_IMAGE_SIZE, densenet169: DENSENET_MIN_IMAGE_SIZE,
};

function validate(arch: Architecture, opts: BuildModelOptions): ResolvedModelOptions {
  const channels = opts.channels ?? 3;
  const min = MIN_IMAGE_SIZE[arch];
  if (min === undefined) throw new ModelConfigError(`unknown architecture ${String(arch)}`);
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2) throw new ModelConfigError(`numClasses must be an integer ≥ 2, got ${opts.numClasses} (architecture ${arch})`);
  if (!Number.isInteger(opts.imageSize) || opts.imageSize < min) throw new ModelConfigError(`imageSize must be an integer ≥ ${min} for ${arch}, got ${opts.imageSize}`);
  if (!Number.isInteger(channels) || channels < 1) throw new ModelConfigError(`channels must be a positive integer, got ${channels}`);
  if (opts.seed !== undefined && !Number.isFinite(opts.seed)) throw new ModelConfigError(`seed must be a finite number, got ${opts.seed}`);
  const init = opts.init ?? "random";
  if (init !== "random" && init !== "zeros") throw new ModelConfigError(`init must be "random" or "zeros", got ${String(init)}`);
  const batchNorm = opts.batchNorm ?? "fused";
  if (batchNorm !== "fused" && batchNorm !== "layers") throw new ModelConfigError(`batchNorm must be "fused" or "layers", got ${String(batchNorm)}`);
  return { numClasses: opts.numClasses, imageSize: opts.imageSize, channels, seed: opts.seed, init, batchNorm };
}

/** Builds `arch` for `numClasses` logits and square `imageSize` inputs (NHWC, 3 channels by default). */
export function buildModel(tf: Tf, arch: Architecture, opts: BuildModelOptions): LayersModel {
  const o = validate(arch, opts);
  switch (arch) {
    case "small_cnn": return buildSmallCnn(tf, o);
    case "resnet18":
    case "resnet50":
    case "wide_resnet50_2": return buildResNet(tf, RESNETS[arch], o);
    case "densenet121":
    case "densenet169": return buildDenseNet(tf, DENSENETS[arch], o);
  }
}

/** Trainable parameters (what torch counts with requires_grad); excludes BatchNorm moving statistics. */
export function countTrainableParams(model: LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

export { encodeSafetensors, loadSafetensors, parseSafetensors, SafetensorsError, type SafeTensor, type SafeTensors, type SafetensorsDtype } from "./safetensors.ts";
export { exportTorchvisionWeights, headLayerName, importTorchvisionWeights, torchvisionTensorShapes, WeightImportError, type ImportOptions, type ImportReport } from "./torchvision-weights.ts";
