/**
 * Multi-threaded wasm in Node.
 *
 * tfjs-backend-wasm 4.22 ships a threaded SIMD binary (XNNPACK on a pthreadpool, emscripten pthreads on worker
 * threads) but never uses it in Node: its WASM_HAS_MULTITHREAD_SUPPORT flag answers false there, because the
 * pthread worker script it builds is browser-shaped. Three things stand in the way, and this module handles each:
 *
 * 1. The worker script is handed to `new Worker()` as a `blob:` URL, which Node's worker_threads cannot load.
 *    We install a `Worker` on the global object (emscripten looks it up there) that starts the same script
 *    text with `eval: true`.
 * 2. Inside the worker, the script loads the main emscripten factory from a Blob through `importScripts`
 *    (a synchronous file read in Node). We patch that one branch to read the Blob's text and evaluate it,
 *    and define the four Node modules and the global object under the names the factory's bundled code uses.
 * 3. The backend caps the pool at half the logical cores that `os.cpus()` reports (it assumes two hardware
 *    threads per core), so on a 2-core node it would run 1 thread. While the backend initialises, `os.cpus()`
 *    reports twice the requested count, so the cap becomes the count asked for.
 *
 * All of it is checked before anything is changed: when the installed package does not have the exact shape
 * expected, enableWasmThreads returns a reason and the backend stays single-threaded (never half-patched).
 * Every kernel, ours and the package's, runs the same code either way; only XNNPACK's operators (convolution,
 * matrix multiply, pooling, elementwise) split their work over the pool.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker as NodeWorker } from "node:worker_threads";

const require = createRequire(import.meta.url);
/** The `os` module object itself (the one the backend's bundle reads `cpus()` from). */
const osModule = require("node:os") as { cpus: () => unknown[] };

/** The worker script's loader branch as tfjs-backend-wasm 4.22 builds it, and what replaces it. */
const LOAD_BRANCH =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}WasmBackendModuleThreadedSimd(Module)';
const LOAD_FROM_BLOB =
  'Promise.resolve(typeof e.data.urlOrBlob=="string"?fs.readFileSync(e.data.urlOrBlob,"utf8"):e.data.urlOrBlob.text()).then(function(t){(0,eval)(t);WasmBackendModuleThreadedSimd(Module)}).catch(function(ex){threadPrintErr("wasm thread failed to start: "+(ex&&ex.stack||ex));process.exit(70)})';
/** Names the bundled factory uses for Node modules (tf-backend-wasm.node.js: `var require$$0 = require('fs')` …). */
const PRELUDE =
  'var require$$0=require("fs"),require$$1=require("path"),require$$3=require("perf_hooks"),require$$4=require("os");var commonjsGlobal=globalThis;';

export interface WasmThreadsResult {
  /** Threads requested and made possible (the backend reports what it actually got after setBackend). */
  enabled: boolean;
  /** Why threads stay off, when they do. */
  reason?: string;
}

let workerScript: string | null = null;

/**
 * The pthread worker script for Node, made from the text of tfjs-backend-wasm's Node bundle; throws, naming
 * what it did not find, when the bundle does not have the shape this module was written against.
 */
export function pthreadWorkerScript(bundle: string): string {
  const m = bundle.match(/var wasmWorkerContents = ("(?:[^"\\]|\\.)*");/);
  if (!m) throw new Error("the wasm pthread worker script was not found in @tensorflow/tfjs-backend-wasm");
  for (const name of ["require$$0 = require('fs')", "require$$1 = require('path')", "require$$3 = require('perf_hooks')", "require$$4 = require('os')"]) {
    if (!bundle.includes(`var ${name};`)) throw new Error(`@tensorflow/tfjs-backend-wasm no longer declares ${name}`);
  }
  // Newlines inside the script's string literals are escaped, as the backend itself does before making a Blob.
  const script = (JSON.parse(m[1]!) as string).replace(/\n/g, "\\n");
  if (!script.includes(LOAD_BRANCH)) throw new Error("the wasm pthread worker script has an unexpected loader");
  return PRELUDE + script.replace(LOAD_BRANCH, LOAD_FROM_BLOB);
}

/** A worker_threads Worker that runs the pthread script whatever URL emscripten passes. */
function pthreadWorkerClass(script: string) {
  return class PthreadWorker extends NodeWorker {
    constructor(_url: unknown) {
      super(script, { eval: true });
    }
  };
}

/**
 * Prepares the threaded wasm binary with `threads` threads. Call before `tf.setBackend("wasm")`, and wrap
 * that call in {@link withLogicalCores}. `tf` is the tfjs namespace, `wasm` the tfjs-backend-wasm module.
 */
export function enableWasmThreads(
  tf: { env(): { set(flag: string, value: boolean): void } },
  wasm: { setThreadsCount(n: number): void },
  threads: number,
): WasmThreadsResult {
  if (!Number.isInteger(threads) || threads < 2) return { enabled: false, reason: `threads = ${threads}` };
  if (typeof SharedArrayBuffer === "undefined") return { enabled: false, reason: "no SharedArrayBuffer in this Node" };
  try {
    workerScript ??= pthreadWorkerScript(readFileSync(require.resolve("@tensorflow/tfjs-backend-wasm"), "utf8"));
  } catch (e) {
    return { enabled: false, reason: (e as Error).message };
  }
  const PthreadWorker = pthreadWorkerClass(workerScript);
  // emscripten assigns `global.Worker = worker_threads.Worker` when it starts; keep ours in place.
  Object.defineProperty(globalThis, "Worker", { configurable: true, get: () => PthreadWorker, set: () => {} });
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(threads);
  return { enabled: true };
}

/** Runs `fn` while `os.cpus()` reports `2 × threads` entries (see point 3 above), then restores it. */
export async function withLogicalCores<T>(threads: number, fn: () => Promise<T>): Promise<T> {
  const real = osModule.cpus;
  const one = real()[0];
  osModule.cpus = () => Array.from({ length: 2 * threads }, () => one);
  try {
    return await fn();
  } finally {
    osModule.cpus = real;
  }
}

/**
 * emscripten starts 8 pthread workers up front (its compiled-in pool size) whatever the thread count; the
 * backend's pool keeps `threads − 1` of them busy. The idle ones (≈ 10 MB each) are let go: should a thread
 * ever be started later, emscripten starts a worker for it then.
 */
export function releaseIdleWasmWorkers(backend: unknown): number {
  const pthread = (backend as { wasm?: { PThread?: { unusedWorkers?: { terminate(): unknown }[] } } }).wasm?.PThread;
  const idle = pthread?.unusedWorkers?.splice(0) ?? [];
  for (const w of idle) void w.terminate();
  return idle.length;
}
