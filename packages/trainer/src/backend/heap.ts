/**
 * JS kernels' direct access to the wasm backend's memory.
 *
 * `dataSync()` copies a tensor into a fresh ArrayBuffer, and a `tf.tensor(values)` copies a fresh JS array
 * into the heap. A fresh large ArrayBuffer costs a page fault per 4 KB on its first touch, which on the
 * machines we measured (~10 µs each) made a 9 MB filter's round trip cost 26 ms, more than the convolution
 * that used it. The kernels written in JS (filter flips, layout changes, interleaving, MaxPoolGrad) instead
 * read their inputs and write their outputs in place, in the heap the backend reuses.
 *
 * Views are valid until the next allocation in the heap (growing the memory replaces its buffer): allocate
 * every output first, then take the views, then compute. On other backends the same calls fall back to
 * copies.
 */
import type * as tfTypes from "@tensorflow/tfjs";

type Tf = typeof tfTypes;
type Tensor = tfTypes.Tensor;

/** The wasm backend's two calls for kernels written in JS: allocate an output in the heap, view a tensor's data. */
export interface HeapBackend extends tfTypes.KernelBackend {
  makeOutput(shape: number[], dtype: "float32"): tfTypes.TensorInfo;
  typedArrayFromHeap(info: tfTypes.TensorInfo): Float32Array;
}

/** `backend` as a HeapBackend, or null when it is not one (cpu, tensorflow). */
export function asHeapBackend(backend: unknown): HeapBackend | null {
  const b = backend as Partial<HeapBackend> | null;
  return b && typeof b.makeOutput === "function" && typeof b.typedArrayFromHeap === "function" ? (b as HeapBackend) : null;
}

const heapBackend = (tf: Tf) => asHeapBackend(tf.backend());

/**
 * A new float32 tensor of `shape`, written by `fill(out, ins)` where `out` is its storage and `ins` are the
 * values of `inputs` (views taken after the allocation, so all of them are valid during `fill`). `out` is not
 * zeroed.
 */
export function tensorFromHeap<R extends Tensor>(tf: Tf, shape: number[], inputs: Tensor[], fill: (out: Float32Array, ins: Float32Array[]) => void): R {
  const b = heapBackend(tf);
  if (!b) {
    const out = new Float32Array(shape.reduce((a, d) => a * d, 1));
    fill(out, inputs.map((t) => t.dataSync() as Float32Array));
    return tf.tensor(out, shape, "float32") as R;
  }
  const info = b.makeOutput(shape, "float32");
  const t = tf.engine().makeTensorFromTensorInfo(info, b) as R;
  fill(b.typedArrayFromHeap(info), inputs.map((x) => b.typedArrayFromHeap({ dataId: x.dataId, shape: x.shape, dtype: x.dtype })));
  return t;
}
