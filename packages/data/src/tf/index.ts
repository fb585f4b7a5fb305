/**
 * @hypersweep/data/tf: the tfjs side of the data package (training-time augmentations). Imported by the trainer
 * only; the API never imports this subpath (see .dependency-cruiser.cjs).
 */
export {
  augmentBatch,
  applyAugmentations,
  applyGeometric,
  drawAugmentations,
  geometricTransform,
  scaleContrast,
  shiftImages,
  type ImageAugmentation,
  type Tf,
  type UniformSource,
} from "./augment.ts";
