/**
 * Kernels registered on the wasm backend so that it can train conv nets, fast.
 *
 * - "shipped": tfjs-backend-wasm 4.22 as published plus the one kernel it lacks for training,
 *   Conv2DBackpropFilter (as a convolution over the batch-transposed input).
 * - "optimised": additionally replaces Conv2DBackpropInput (shipped: a slow direct loop) with a stride-1
 *   convolution of the dilated dy with the flipped filter, MaxPoolGrad with a single JS pass, and SplitV
 *   along the channel axis (the gradient of Concat) with block copies.
 *   (The faster BatchNorm gradient is a layer in @hypersweep/models, not a kernel: see batch-norm.ts there.)
 *
 * Kernels here are composed from ops of the same backend: inside a kernel function the engine does not
 * record ops on the gradient tape (kernelDepth > 0), and the result is handed over by reference count
 * (incRef on the backend, then the temporary tensor is disposed), the pattern tfjs's own Reshape uses.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import { maxPoolGradJs, type PoolGradAttrs } from "./pool-grads.ts";
import { conv2dBackpropFilterAsConv, conv2dBackpropInputAsConv, type ConvGradAttrs } from "./conv-grads.ts";
import { splitVLastAxis } from "./split.ts";

type Tf = typeof tfTypes;
type KernelConfig = tfTypes.KernelConfig;
type KernelFunc = KernelConfig["kernelFunc"];
type Shape4 = [number, number, number, number];

/** Which kernel implementations to register; "shipped" only adds what wasm lacks. */
export type WasmKernelSet = "shipped" | "optimised";
export const WASM_KERNEL_SETS: readonly WasmKernelSet[] = ["shipped", "optimised"];

let active: WasmKernelSet | null = null;
const originals = new Map<string, KernelConfig | undefined>();

/** Hands a tensor computed inside a kernel back to the engine as the kernel's output. */
function handOver(backend: tfTypes.KernelBackend, t: tfTypes.Tensor): tfTypes.TensorInfo {
  backend.incRef(t.dataId);
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return info;
}

/** Wraps a function of Tensor views of the kernel inputs as a kernel function. */
function composite(tf: Tf, names: string[], f: (ts: tfTypes.Tensor4D[], attrs: Record<string, unknown>) => tfTypes.Tensor): KernelFunc {
  return ({ inputs, attrs, backend: b }) => {
    const backend = b as tfTypes.KernelBackend;
    const views = names.map((n) => {
      const info = inputs[n]!;
      backend.incRef(info.dataId); // the view's dispose drops exactly this extra reference
      return tf.engine().makeTensorFromTensorInfo(info, backend) as tfTypes.Tensor4D;
    });
    try {
      return handOver(backend, f(views, attrs as Record<string, unknown>));
    } finally {
      tf.dispose(views);
    }
  };
}

function kernels(tf: Tf, set: WasmKernelSet): Record<string, KernelFunc> {
  const out: Record<string, KernelFunc> = {
    Conv2DBackpropFilter: composite(tf, ["x", "dy"], ([x, dy], a) =>
      conv2dBackpropFilterAsConv(tf, x!, dy!, a["filterShape"] as Shape4, a as unknown as ConvGradAttrs)),
  };
  if (set === "optimised") {
    out["Conv2DBackpropInput"] = composite(tf, ["dy", "filter"], ([dy, filter], a) =>
      conv2dBackpropInputAsConv(tf, dy!, filter!, a["inputShape"] as Shape4, a as unknown as ConvGradAttrs));
    out["MaxPoolGrad"] = composite(tf, ["dy", "input"], ([dy, input], a) => maxPoolGradJs(tf, dy!, input!, a as unknown as PoolGradAttrs));
    out["SplitV"] = splitVLastAxis(tf, tf.getKernel("SplitV", "wasm")?.kernelFunc);
  }
  return out;
}

function restoreOriginals(tf: Tf): void {
  for (const [name, config] of originals) {
    if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
    if (config) tf.registerKernel(config);
  }
}

/**
 * Registers the training kernels of `set` on the wasm backend (idempotent; switching sets restores the
 * shipped kernels first). Must run after @tensorflow/tfjs-backend-wasm is imported.
 */
export function registerWasmTrainingKernels(tf: Tf, set: WasmKernelSet = "optimised"): void {
  if (active === set) return;
  restoreOriginals(tf);
  for (const [kernelName, kernelFunc] of Object.entries(kernels(tf, set))) {
    if (!originals.has(kernelName)) originals.set(kernelName, tf.getKernel(kernelName, "wasm"));
    if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
  }
  active = set;
}

/** The kernel set currently registered, or null before registerWasmTrainingKernels. */
export function activeWasmKernelSet(): WasmKernelSet | null {
  return active;
}
