/**
 * Training-time augmentations (section 3.2 of the Data Stock paper), as tfjs ops on a normalised NHWC batch.
 * This module is the tfjs side of @hypersweep/data and is only reachable through the `@hypersweep/data/tf`
 * subpath: the API never imports it.
 *
 * Every augmentation works on data that is ALREADY normalised (zero mean, unit variance with the training
 * subset's statistics, as the paper does "before any other modification"). Exact definitions, per image i:
 *
 * - `rotation`: angle θ_i uniform in [−rotationDegrees, +rotationDegrees]; positive θ turns the content
 *   counter-clockwise as displayed (row 0 at the top), about the image centre ((S−1)/2, (S−1)/2). Bilinear
 *   sampling; pixels that come from outside the image are filled with 0, which in normalised space is the
 *   training mean (torchvision's `fill=0` applied after normalisation gives the same).
 * - `hflip`: mirrors columns (x → S−1−x) with probability 0.5.
 * - `center_crop`: ALWAYS applied when selected (like torchvision's CenterCrop in the paper's pipeline, which is
 *   deterministic): keeps the central `centerCropFraction` of each side and resizes it back to S × S
 *   (bilinear, same sampling grid as `tf.image.cropAndResize` with box [(1−f)/2, (1−f)/2, (1+f)/2, (1+f)/2]).
 * - `brightness`: additive shift δ_i = u_i · brightness · range_i with u_i uniform in [−1, 1] and
 *   range_i = max − min of image i's input values (all pixels and channels, before any augmentation). In the
 *   original [0, 1] pixel space this is a shift of up to ±brightness of the image's dynamic range; the shift moves
 *   the image mean by exactly δ_i.
 * - `contrast`: factor c_i uniform in [1 − contrast, 1 + contrast]; x ← (x − m_i) · c_i + m_i, with m_i the mean
 *   of image i over all pixels and channels at that point. The image mean is unchanged.
 *
 * Order: the geometric ones (rotation, hflip, center_crop) are composed into ONE affine resampling per image
 * (rotate, then flip, then crop: a single bilinear interpolation instead of three), then brightness, then
 * contrast. No clipping: normalised data has no fixed range.
 *
 * Randomness comes only from the `rng` argument, drawn image by image in the order
 * (θ if rotation, flip coin if hflip, u if brightness, c if contrast), so the same rng state gives the same batch.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import type { Augmentation, AugmentationParams } from "@hypersweep/core";

export type Tf = typeof tfTypes;
type Tensor4D = tfTypes.Tensor4D;

/** A source of uniform numbers in [0, 1). The trainer passes a seeded PRNG whose state it checkpoints. */
export interface UniformSource {
  next(): number;
}

/** What was drawn for one image (undefined = that augmentation is not selected). */
export interface ImageAugmentation {
  /** Rotation in degrees, counter-clockwise as displayed. */
  rotationDegrees?: number;
  flip?: boolean;
  /** Kept central fraction of each side (center_crop). */
  cropFraction?: number;
  /** u in [−1, 1]: the shift is u · brightness · (max − min of the input image). */
  brightnessU?: number;
  brightness?: number;
  /** Contrast factor around the image mean. */
  contrastFactor?: number;
}

/** Draws the per-image parameters for a batch of `n` images. Pure given the rng state. */
export function drawAugmentations(
  n: number,
  augmentations: readonly Augmentation[],
  params: AugmentationParams,
  rng: UniformSource,
): ImageAugmentation[] {
  const on = new Set(augmentations);
  const out: ImageAugmentation[] = [];
  for (let i = 0; i < n; i++) {
    const a: ImageAugmentation = {};
    if (on.has("rotation")) a.rotationDegrees = (2 * rng.next() - 1) * params.rotationDegrees;
    if (on.has("hflip")) a.flip = rng.next() < 0.5;
    if (on.has("center_crop")) a.cropFraction = params.centerCropFraction;
    if (on.has("brightness")) {
      a.brightnessU = 2 * rng.next() - 1;
      a.brightness = params.brightness;
    }
    if (on.has("contrast")) a.contrastFactor = 1 + (2 * rng.next() - 1) * params.contrast;
    out.push(a);
  }
  return out;
}

/**
 * The 8 coefficients of tfjs's projective transform (output pixel → input pixel) for rotate → flip → crop.
 * With q the output position relative to the centre c: input = c + R(θ)⁻¹ · F · (f · q).
 */
export function geometricTransform(a: ImageAugmentation, size: number): number[] {
  const c = (size - 1) / 2;
  const theta = ((a.rotationDegrees ?? 0) * Math.PI) / 180;
  const f = a.cropFraction ?? 1;
  const s = a.flip ? -1 : 1;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  // R⁻¹ = [[cos, −sin], [sin, cos]] (content turns counter-clockwise with y pointing down); F = diag(s, 1).
  const m00 = cos * s * f;
  const m01 = -sin * f;
  const m10 = sin * s * f;
  const m11 = cos * f;
  return [m00, m01, c - m00 * c - m01 * c, m10, m11, c - m10 * c - m11 * c, 0, 0];
}

function isGeometric(a: ImageAugmentation): boolean {
  return (a.rotationDegrees !== undefined && a.rotationDegrees !== 0) || a.flip === true || (a.cropFraction ?? 1) !== 1;
}

/**
 * Resamples every image with its own affine transform. The cpu backend's Transform kernel (tfjs 4.22) returns
 * after the first image of a batch and leaves the others filled with `fillValue`, so on cpu it runs one image at
 * a time; the other backends take the whole batch in one call.
 */
export function applyGeometric(tf: Tf, x: Tensor4D, per: readonly ImageAugmentation[]): Tensor4D {
  const size = x.shape[1];
  const transforms = per.map((a) => geometricTransform(a, size));
  return tf.tidy(() => {
    if (tf.getBackend() !== "cpu") {
      return tf.image.transform(x, tf.tensor2d(transforms, [per.length, 8]), "bilinear", "constant", 0);
    }
    const images = tf.split(x, per.length, 0) as Tensor4D[];
    const out = images.map((img, i) =>
      isGeometric(per[i]!) ? tf.image.transform(img, tf.tensor2d([transforms[i]!], [1, 8]), "bilinear", "constant", 0) : img,
    );
    return tf.concat(out, 0);
  });
}

/** Adds shifts[i] to every value of image i. */
export function shiftImages(tf: Tf, x: Tensor4D, shifts: ArrayLike<number>): Tensor4D {
  return tf.tidy(() => tf.add(x, tf.tensor4d(Array.from(shifts), [shifts.length, 1, 1, 1])));
}

/** x ← (x − mean_i) · factors[i] + mean_i, with mean_i over image i's pixels and channels. */
export function scaleContrast(tf: Tf, x: Tensor4D, factors: ArrayLike<number>): Tensor4D {
  return tf.tidy(() => {
    const mean = tf.mean(x, [1, 2, 3], true);
    const f = tf.tensor4d(Array.from(factors), [factors.length, 1, 1, 1]);
    return tf.add(tf.mul(tf.sub(x, mean), f), mean);
  });
}

/** max − min of every image (all pixels and channels), as numbers. */
function imageRanges(tf: Tf, x: Tensor4D): Float32Array {
  return tf.tidy(() => tf.sub(tf.max(x, [1, 2, 3]), tf.min(x, [1, 2, 3])).dataSync() as Float32Array);
}

/** Applies already-drawn per-image parameters. Returns a new tensor; `x` is not disposed. */
export function applyAugmentations(tf: Tf, x: Tensor4D, per: readonly ImageAugmentation[]): Tensor4D {
  if (per.length !== x.shape[0]) {
    throw new RangeError(`augmentations: ${per.length} parameter sets for a batch of ${x.shape[0]} images`);
  }
  const ranges = per.some((a) => a.brightnessU !== undefined) ? imageRanges(tf, x) : null;
  return tf.tidy(() => {
    let y: Tensor4D = per.some(isGeometric) ? applyGeometric(tf, x, per) : tf.clone(x);
    if (ranges) {
      y = shiftImages(tf, y, per.map((a, i) => (a.brightnessU ?? 0) * (a.brightness ?? 0) * ranges[i]!));
    }
    if (per.some((a) => a.contrastFactor !== undefined)) {
      y = scaleContrast(tf, y, per.map((a) => a.contrastFactor ?? 1));
    }
    return y;
  });
}

/**
 * Augments one training batch (N × S × S × C, normalised). Draws per-image parameters from `rng` and applies
 * them; returns a new tensor that the caller disposes (also when nothing is selected).
 */
export function augmentBatch(
  tf: Tf,
  x: Tensor4D,
  augmentations: readonly Augmentation[],
  params: AugmentationParams,
  rng: UniformSource,
): Tensor4D {
  const per = drawAugmentations(x.shape[0], augmentations, params, rng);
  return applyAugmentations(tf, x, per);
}
