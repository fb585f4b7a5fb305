/**
 * Training backend selection. One tfjs instance for everything: `@tensorflow/tfjs` (CommonJS build, which
 * loads the same `@tensorflow/tfjs-core` as `@tensorflow/tfjs-backend-wasm` and `@tensorflow/tfjs-node*`).
 * Models must be built with the `tf` returned here (packages/models takes `tf` as a parameter).
 *
 * Order tried: tensorflow-gpu (@tensorflow/tfjs-node-gpu), tensorflow (@tensorflow/tfjs-node), wasm, cpu.
 * The two native packages are optionalDependencies that usually do not install; a missing package is skipped,
 * any other load failure is kept as the reason in `skipped`.
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { registerWasmTrainingKernels, type WasmKernelSet } from "./wasm-kernels.ts";
import { enableWasmThreads, releaseIdleWasmWorkers, withLogicalCores } from "./wasm-threads.ts";

export { activeWasmKernelSet, registerWasmTrainingKernels, WASM_KERNEL_SETS, type WasmKernelSet } from "./wasm-kernels.ts";
export { conv2dBackpropFilterAsConv, conv2dBackpropInputAsConv, type ConvGradAttrs } from "./conv-grads.ts";

export type BackendName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";
export const BACKEND_ORDER: readonly BackendName[] = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];

export interface LoadedBackend {
  /** The tfjs backend name actually active (`tensorflow` for both native packages, `wasm`, `cpu`). */
  name: string;
  /** Versions of the tfjs packages in use, plus `backend` = the BackendName chosen and `wasmKernels`. */
  versions: Record<string, string>;
  /** The single tfjs instance: build models and run training with it. */
  tf: typeof import("@tensorflow/tfjs");
}

export interface LoadBackendOptions {
  /** Which wasm training kernels to register. @defaultValue "optimised" */
  wasmKernels?: WasmKernelSet;
  /**
   * Threads for the wasm backend's XNNPACK pool (its threaded SIMD binary, see wasm-threads.ts); 1 = the
   * single-threaded binary. Fixed for the life of the process: the first wasm initialisation decides. The
   * native backends get it as TF_NUM_INTRAOP_THREADS when that is not set.
   * @defaultValue 1
   */
  threads?: number;
}

export class BackendUnavailableError extends Error {
  readonly code = "BACKEND_UNAVAILABLE";
  constructor(readonly backend: BackendName, cause: unknown) {
    super(`backend ${backend} is not available: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "BackendUnavailableError";
  }
}

const require = createRequire(import.meta.url);

function isModuleNotFound(e: unknown, pkg: string): boolean {
  const err = e as { code?: string; message?: string };
  return (err.code === "MODULE_NOT_FOUND" || err.code === "ERR_MODULE_NOT_FOUND") && String(err.message).includes(pkg);
}

function packageVersion(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

async function tryNative(pkg: string, threads: number | undefined): Promise<boolean> {
  // libtensorflow sizes its CPU thread pools from these when it starts (unless the user set them): the
  // same share of the node's cores as the wasm pool gets. Not exercised here (the package cannot install).
  if (threads) process.env["TF_NUM_INTRAOP_THREADS"] ??= String(threads);
  try {
    await import(pkg); // registers the "tensorflow" backend on the shared tfjs-core
  } catch (e) {
    if (isModuleNotFound(e, pkg)) return false;
    throw e;
  }
  return tf.setBackend("tensorflow");
}

/** Directory holding the .wasm binaries; emscripten reads them with fs.readFileSync in Node. */
export function wasmBinaryDir(): string {
  return path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + path.sep;
}

let wasmImported = false;
/** Threads the wasm backend runs with (known once it has initialised), and why fewer than asked, if so. */
let wasmThreads: { count: number; note?: string } | null = null;

async function tryWasm(kernels: WasmKernelSet, threads: number): Promise<boolean> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  let threaded = false;
  let note: string | undefined;
  if (!wasmImported) {
    wasm.setWasmPaths(wasmBinaryDir());
    wasmImported = true;
    if (threads > 1) {
      const r = enableWasmThreads(tf, wasm, threads);
      threaded = r.enabled;
      note = r.reason;
    }
  }
  const ok = threaded ? await withLogicalCores(threads, () => tf.setBackend("wasm")) : await tf.setBackend("wasm");
  if (ok) {
    if (threaded) releaseIdleWasmWorkers(tf.backend());
    registerWasmTrainingKernels(tf, kernels);
    if (!wasmThreads) {
      const count = wasm.getThreadsCount();
      wasmThreads = { count, note: note ?? (count < threads ? `the backend started ${count} of ${threads} threads` : undefined) };
    }
  }
  return ok;
}

async function tryOne(name: BackendName, opts: LoadBackendOptions): Promise<boolean> {
  switch (name) {
    case "tensorflow-gpu": return tryNative("@tensorflow/tfjs-node-gpu", opts.threads);
    case "tensorflow": return tryNative("@tensorflow/tfjs-node", opts.threads);
    case "wasm": return tryWasm(opts.wasmKernels ?? "optimised", opts.threads ?? 1);
    case "cpu": return tf.setBackend("cpu");
  }
}

function versionsOf(chosen: BackendName, opts: LoadBackendOptions): Record<string, string> {
  const v: Record<string, string> = { backend: chosen, "tfjs-core": tf.version_core };
  for (const pkg of ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"]) {
    const ver = packageVersion(pkg);
    if (ver && (pkg === "@tensorflow/tfjs" || pkg.endsWith(chosen === "wasm" ? "wasm" : chosen === "tensorflow" ? "node" : "node-gpu"))) v[pkg.replace("@tensorflow/", "")] = ver;
  }
  if (chosen === "wasm") {
    v["wasmKernels"] = opts.wasmKernels ?? "optimised";
    if (wasmThreads) v["wasmThreads"] = String(wasmThreads.count);
    if (wasmThreads?.note) v["wasmThreadsNote"] = wasmThreads.note;
  }
  return v;
}

/**
 * Activates the best available backend, or exactly `preferred` when given (throws BackendUnavailableError if
 * it cannot load: a forced backend never silently falls back).
 */
export async function loadBackend(preferred?: BackendName, opts: LoadBackendOptions = {}): Promise<LoadedBackend> {
  const candidates = preferred ? [preferred] : BACKEND_ORDER;
  let lastError: unknown = null;
  for (const name of candidates) {
    let ok = false;
    try {
      ok = await tryOne(name, opts);
    } catch (e) {
      lastError = e;
      if (preferred) throw new BackendUnavailableError(name, e);
      continue;
    }
    if (ok) {
      await tf.ready();
      return { name: tf.getBackend(), versions: versionsOf(name, opts), tf };
    }
    if (preferred) throw new BackendUnavailableError(name, lastError ?? "package not installed or setBackend failed");
  }
  throw new BackendUnavailableError("cpu", lastError ?? "no backend could be initialised");
}
