/**
 * Kernels registered on the wasm backend so that it can train conv nets.
 *
 * Kernels here are composed from ops of the same backend: inside a kernel function the engine does not
 * record ops on the gradient tape (kernelDepth > 0), and the result is handed over by reference count
 * (incRef on the backend, then the temporary tensor is disposed), the same pattern tfjs's own Reshape uses.
 */
import type * as tfTypes from "@tensorflow/tfjs";
import { conv2dBackpropFilterPerTap, type Conv2DBackpropFilterAttrs } from "./conv2d-backprop-filter.ts";

type Tf = typeof tfTypes;

/** Which kernel implementations to register; "shipped" only adds what wasm lacks. */
export type WasmKernelSet = "shipped" | "optimised";

let registered: WasmKernelSet | null = null;

/** Hands a tensor computed inside a kernel back to the engine as the kernel's output. */
function handOver(tf: Tf, backend: tfTypes.KernelBackend, t: tfTypes.Tensor): tfTypes.TensorInfo {
  backend.incRef(t.dataId);
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  void tf;
  return info;
}

/** Makes a Tensor view of a kernel input (shares the data; dispose drops only the extra reference). */
function view<R extends tfTypes.Rank>(tf: Tf, backend: tfTypes.KernelBackend, t: tfTypes.TensorInfo): tfTypes.Tensor<R> {
  backend.incRef(t.dataId);
  return tf.engine().makeTensorFromTensorInfo(t, backend) as tfTypes.Tensor<R>;
}

/**
 * Registers the missing (and, with "optimised", the faster) training kernels on the wasm backend.
 * Idempotent for the same set; switching sets unregisters the previous overrides first.
 */
export function registerWasmTrainingKernels(tf: Tf, set: WasmKernelSet = "optimised"): void {
  if (registered === set) return;
  if (registered !== null) unregisterOverrides(tf);
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs, backend: b }) => {
      const backend = b as tfTypes.KernelBackend;
      const x = view<tfTypes.Rank.R4>(tf, backend, inputs["x"]!);
      const dy = view<tfTypes.Rank.R4>(tf, backend, inputs["dy"]!);
      try {
        return handOver(tf, backend, conv2dBackpropFilterPerTap(tf, x, dy, attrs as unknown as Conv2DBackpropFilterAttrs));
      } finally {
        x.dispose();
        dy.dispose();
      }
    },
  });
  registered = set;
}

function unregisterOverrides(tf: Tf): void {
  for (const name of ["Conv2DBackpropFilter"]) {
    if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
  }
}
