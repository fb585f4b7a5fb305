/**
 * @hypersweep/models: the paper's architectures in tf.layers, in torchvision's layout and naming, and
 * torchvision weight import. Every builder takes the tfjs namespace `tf` as its first argument (use the one
 * returned by @hypersweep/trainer's `loadBackend()`), so there is exactly one tfjs-core in the process.
 * Models output logits (no softmax): the loss applies softmax.
 */
import type { Architecture } from "@hypersweep/core";
import { buildSmallCnn } from "./small-cnn.ts";
import { ModelConfigError, type BuildModelOptions, type LayersModel, type Tf } from "./types.ts";

export { ModelConfigError, type BuildModelOptions, type LayersModel, type Tf } from "./types.ts";
export { SMALL_CNN_WIDTHS } from "./small-cnn.ts";

function validate(arch: Architecture, opts: BuildModelOptions): Required<BuildModelOptions> {
  const channels = opts.channels ?? 3;
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2) throw new ModelConfigError(`numClasses must be an integer ≥ 2, got ${opts.numClasses} (architecture ${arch})`);
  if (!Number.isInteger(opts.imageSize) || opts.imageSize < 8) throw new ModelConfigError(`imageSize must be an integer ≥ 8, got ${opts.imageSize} (architecture ${arch})`);
  if (!Number.isInteger(channels) || channels < 1) throw new ModelConfigError(`channels must be a positive integer, got ${channels}`);
  return { numClasses: opts.numClasses, imageSize: opts.imageSize, channels };
}

/** Builds `arch` for `numClasses` logits and square `imageSize` inputs (NHWC, 3 channels by default). */
export function buildModel(tf: Tf, arch: Architecture, opts: BuildModelOptions): LayersModel {
  const o = validate(arch, opts);
  switch (arch) {
    case "small_cnn": return buildSmallCnn(tf, o);
    case "resnet18":
    case "resnet50":
    case "wide_resnet50_2":
    case "densenet121":
    case "densenet169":
      throw new ModelConfigError(`architecture ${arch} is not implemented yet`);
  }
}

/** Trainable parameters (what torch counts with requires_grad); excludes BatchNorm moving statistics. */
export function countTrainableParams(model: LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
