/**
 * tfjs side of bench/trainer-speed.ts, one process per variant (the wasm thread count is fixed per process):
 *
 *   npx tsx bench/tfjs_speed_server.ts --kernels optimised --threads 2
 *
 * Speaks the same protocol as bench/torch_speed.py: one JSON command per line on stdin, {"model", "mode",
 * "iters", "batch", "size", "classes"}, answered by {"times": [wall s per iteration], "cpu": [CPU s, all
 * threads]}; {"cmd": "info"} answers the backend's versions (including the threads it really got).
 */
import { createInterface } from "node:readline";
import type * as tfTypes from "@tensorflow/tfjs";
import { buildModel } from "../packages/models/src/index.ts";
import { loadBackend, type WasmKernelSet } from "../packages/trainer/src/backend/index.ts";

type Arch = "resnet18" | "small_cnn";
interface Cmd { cmd?: "info"; model: Arch; mode: "train" | "infer"; iters: number; batch: number; size: number; classes: number }

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const kernels = arg("kernels", "optimised") as WasmKernelSet;
const threads = Number(arg("threads", "1"));
const { tf, versions } = await loadBackend("wasm", { wasmKernels: kernels, threads });

const models = new Map<string, { model: tfTypes.LayersModel; opt: tfTypes.Optimizer; x: tfTypes.Tensor; y: tfTypes.Tensor }>();

function setup(c: Cmd) {
  const key = `${c.model}/${c.batch}/${c.size}/${c.classes}`;
  if (!models.has(key)) {
    const model = buildModel(tf, c.model, { numClasses: c.classes, imageSize: c.size, seed: 1, batchNorm: kernels === "optimised" ? "fused" : "layers" });
    const x = tf.randomNormal([c.batch, c.size, c.size, 3], 0, 1, "float32", 1);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: c.batch }, (_, i) => i % c.classes), "int32"), c.classes);
    models.set(key, { model, opt: tf.train.adam(1e-3), x, y });
  }
  return models.get(key)!;
}

async function run(c: Cmd) {
  const { model, opt, x, y } = setup(c);
  const times: number[] = [], cpu: number[] = [];
  for (let i = 0; i < c.iters; i++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    const out = c.mode === "train"
      ? opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tfTypes.Tensor) as tfTypes.Scalar, true)!
      : (model.predict(x) as tfTypes.Tensor);
    await out.data();
    out.dispose();
    times.push((performance.now() - t0) / 1000);
    const u = process.cpuUsage(c0);
    cpu.push((u.user + u.system) / 1e6); // the process: main thread and the wasm pool threads
  }
  return { times, cpu };
}

for await (const line of createInterface({ input: process.stdin })) {
  const c = JSON.parse(line) as Cmd;
  process.stdout.write(`${JSON.stringify(c.cmd === "info" ? versions : await run(c))}\n`);
}
process.exit(0);
