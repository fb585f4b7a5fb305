import type * as tfTypes from "@tensorflow/tfjs";

/**
 * The tfjs namespace models are built with. Pass the instance returned by the trainer's `loadBackend()` so
 * that models and backend share one tfjs-core (a second tfjs-core would register its own, empty backends).
 */
export type Tf = typeof tfTypes;
export type LayersModel = tfTypes.LayersModel;
export type SymbolicTensor = tfTypes.SymbolicTensor;

export interface BuildModelOptions {
  /** Number of output logits (classes). Must be an integer ≥ 2. */
  numClasses: number;
  /** Input height and width in pixels (square NHWC input with 3 channels). Must be an integer ≥ 8. */
  imageSize: number;
  /** Input channels. @defaultValue 3 */
  channels?: number;
  /** Seed for the weight initialisers (each layer derives its own); undefined = unseeded. @defaultValue undefined */
  seed?: number;
  /**
   * "random": torchvision's initialisation (kaiming normal convs, uniform Linear). "zeros": conv/Linear
   * weights start at zero, which skips seconds of random generation for the big nets when the weights are
   * replaced right after (weight import, checkpoint resume). @defaultValue "random"
   */
  init?: "random" | "zeros";
  /**
   * BatchNorm training path. "fused": one op with a closed-form gradient and torch's running-variance
   * update (unbiased); "layers": tfjs-layers' stock BatchNormalization (slower backward, biased running
   * variance), kept for comparison benchmarks. Inference is identical. @defaultValue "fused"
   */
  batchNorm?: "fused" | "layers";
}

/** BuildModelOptions after validation, defaults applied. */
export interface ResolvedModelOptions {
  numClasses: number;
  imageSize: number;
  channels: number;
  seed: number | undefined;
  init: "random" | "zeros";
  batchNorm: "fused" | "layers";
}

export class ModelConfigError extends Error {
  readonly code = "MODEL_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "ModelConfigError";
  }
}
