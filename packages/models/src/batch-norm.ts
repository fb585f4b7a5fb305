/**
 * BatchNorm2d for training as torch does it, with one fused gradient.
 *
 * tfjs-layers' BatchNormalization differentiates through `moments()` and the FusedBatchNorm gradient,
 * whose x-gradient tiles 1/σ to the full activation shape and whose mean/variance paths multiply by
 * full-size `ones`: about twenty full passes over the activation per layer in the backward pass. Here the
 * training-mode normalisation is one custom-gradient op whose backward is the closed form
 *   x̂ = (x − μ)/σ,  dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/σ · (dy − dβ/n − x̂·dγ/n)
 * with per-channel vectors broadcast, never tiled (eight full passes).
 *
 * Semantics as torch.nn.BatchNorm2d in train(): normalise with the biased batch variance, update
 * running_var with the unbiased one (× n/(n−1)), running = (1 − momentum_torch)·running + momentum_torch·batch
 * (Keras momentum = 1 − torch momentum). Inference (training false) is the stock layer's code path.
 * The subclass keeps the class name "BatchNormalization", so saved topologies load as the stock layer.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import type { SymbolicTensor, Tf } from "./types.ts";

type T = tfTypes.Tensor;
type LayerVar = { read(): T; write(v: T): void };
interface BnInternals { gamma: LayerVar; beta: LayerVar; movingMean: LayerVar; movingVariance: LayerVar; epsilon: number; momentum: number; axis: number }

const AXES = [0, 1, 2];

/** y = γ·(x − μ)/σ + β with the closed-form backward; μ, var are the batch statistics (no gradient of their own). */
export function batchNormTrainingOp(tf: Tf, x: T, gamma: T, beta: T, mean: T, variance: T, epsilon: number): T {
  const forward = (xs: T, g: T, b: T, save: (ts: T[]) => void) => {
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    save([xs, mean, rstd, g]);
    return {
      value: tf.batchNorm(xs, mean, variance, b, g, epsilon),
      gradFunc: (dy: T | T[], saved: T[]) => {
        const d = dy as T;
        const [sx, sMean, sRstd, sGamma] = saved as [T, T, T, T];
        const n = d.size / d.shape[d.rank - 1]!;
        const xc = tf.sub(sx, sMean);
        const dBeta = tf.sum(d, AXES);
        const dyXc = tf.sum(tf.mul(d, xc), AXES); // Σ dy·(x − μ) = σ·dγ
        const dGamma = tf.mul(dyXc, sRstd);
        const a = tf.mul(sGamma, sRstd); // γ/σ
        const bCoef = tf.neg(tf.div(tf.mul(a, tf.mul(dGamma, sRstd)), n)); // −γ/σ · dγ/(nσ), multiplies x − μ
        const c = tf.neg(tf.div(tf.mul(a, dBeta), n));
        const dx = tf.add(tf.add(tf.mul(d, a), tf.mul(xc, bCoef)), c);
        return [dx, dGamma, dBeta];
      },
    };
  };
  const op = tf.customGrad(forward as unknown as Parameters<Tf["customGrad"]>[0]);
  return op(x, gamma, beta);
}

type BnArgs = Parameters<Tf["layers"]["batchNormalization"]>[0];
type BnCtor = new (args: BnArgs) => tfTypes.layers.Layer;
const classes = new WeakMap<object, BnCtor>();

function torchBatchNormClass(tf: Tf): BnCtor {
  const cached = classes.get(tf);
  if (cached) return cached;
  const Base = tf.layers.batchNormalization({}).constructor as BnCtor;
  class TorchBatchNorm extends Base {
    override call(inputs: T | T[], kwargs: Record<string, unknown>): T | T[] {
      const self = this as unknown as BnInternals;
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (!kwargs["training"] || x.rank !== 4 || (self.axis !== 3 && self.axis !== -1)) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const { mean, variance } = tf.moments(x, AXES);
        const y = batchNormTrainingOp(tf, x, self.gamma.read(), self.beta.read(), mean, variance, self.epsilon);
        const n = x.size / x.shape[3]!;
        const decay = 1 - self.momentum;
        const update = (v: LayerVar, batch: T) => tf.tidy(() => {
          const old = v.read();
          v.write(tf.sub(old, tf.mul(tf.sub(old, batch), decay)));
        });
        update(self.movingMean, mean);
        update(self.movingVariance, n > 1 ? tf.mul(variance, n / (n - 1)) : variance);
        return y;
      });
    }
  }
  classes.set(tf, TorchBatchNorm);
  return TorchBatchNorm;
}

/** Which BatchNorm training path layers use: "fused" (this file) or "layers" (tfjs-layers' stock gradient). */
export type BatchNormImpl = "fused" | "layers";

export function batchNorm(tf: Tf, x: SymbolicTensor, name: string, impl: BatchNormImpl): SymbolicTensor {
  const args = { axis: 3, momentum: 0.9, epsilon: 1e-5, name };
  const layer = impl === "fused" ? new (torchBatchNormClass(tf))(args) : tf.layers.batchNormalization(args);
  return layer.apply(x) as SymbolicTensor;
}
