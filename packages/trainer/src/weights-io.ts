/**
 * Reading and writing weights as files without tfjs-node (plain tfjs has no `file://` handler): tfjs's own
 * layout, `model.json` (topology + weights manifest) next to one `weights.bin`, so the output loads with
 * `tf.loadLayersModel` anywhere (given an IOHandler or an HTTP server). Every file is fsync'ed before it counts.
 *
 * Restoring into a live model matches weights by POSITION (the order of `model.weights`, which is the order
 * model.save writes) and checks every shape: layer names carry per-process counters, so names differ between a
 * run and its resumption in one process.
 */
import { mkdir, open, readFile, rename } from "node:fs/promises";
import path from "node:path";
import type * as tfTypes from "@tensorflow/tfjs";
import { registerCustomLayers } from "@hypersweep/models";
import { CheckpointError } from "./errors.ts";

type Tf = typeof tfTypes;
type NamedTensor = { name: string; tensor: tfTypes.Tensor };

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

/** Writes `data` to `file` and fsyncs it, so a rename that follows publishes complete contents. */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(file, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory, so that renames inside it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function joinWeightData(tf: Tf, data: tfTypes.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** Saves `model` (topology + all weights, BatchNorm moving statistics included) as model.json + weights.bin. */
export async function saveModelFiles(tf: Tf, model: tfTypes.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightsManifest = [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }];
      const json = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest,
      };
      await writeFileSynced(path.join(dir, WEIGHTS_BIN), joinWeightData(tf, artifacts.weightData));
      await writeFileSynced(path.join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
}

/** Named tensors to `<stem>.json` (specs) + `<stem>.bin` (data); order is kept. */
export async function saveTensorList(tf: Tf, tensors: readonly NamedTensor[], dir: string, stem: string): Promise<void> {
  // Prefix names with their index: names may repeat across sets, and order is what a restore relies on.
  const indexed = tensors.map((t, i) => ({ name: `${i}:${t.name}`, tensor: t.tensor }));
  const { data, specs } = await tf.io.encodeWeights(indexed);
  await writeFileSynced(path.join(dir, `${stem}.bin`), joinWeightData(tf, data));
  await writeFileSynced(path.join(dir, `${stem}.json`), JSON.stringify({ specs }));
}

/** Reads what saveTensorList wrote, in the saved order. The caller owns (disposes) the tensors. */
export async function loadTensorList(tf: Tf, dir: string, stem: string): Promise<NamedTensor[]> {
  const { specs } = JSON.parse(await readFile(path.join(dir, `${stem}.json`), "utf8")) as {
    specs: tfTypes.io.WeightsManifestEntry[];
  };
  const bin = await readFile(path.join(dir, `${stem}.bin`));
  const map = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), specs);
  return specs.map((s) => ({ name: s.name.slice(s.name.indexOf(":") + 1), tensor: map[s.name]! }));
}

/** Reads model.json + weights.bin from `dir` as tensors in saved order. The caller disposes them. */
export async function loadModelWeights(tf: Tf, dir: string): Promise<NamedTensor[]> {
  const json = JSON.parse(await readFile(path.join(dir, MODEL_JSON), "utf8")) as {
    weightsManifest: { weights: tfTypes.io.WeightsManifestEntry[] }[];
  };
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bin = await readFile(path.join(dir, WEIGHTS_BIN));
  const map = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
}

/** Sets `model`'s weights (positionally, shapes checked) from a directory written by saveModelFiles. */
export async function restoreModelWeights(tf: Tf, model: tfTypes.LayersModel, dir: string): Promise<void> {
  const saved = await loadModelWeights(tf, dir);
  try {
    const live = model.weights;
    if (saved.length !== live.length) {
      throw new CheckpointError(`${dir}: ${saved.length} saved weights, the model has ${live.length}`);
    }
    live.forEach((w, i) => {
      const s = saved[i]!;
      if (!tf.util.arraysEqual(w.shape as number[], s.tensor.shape)) {
        throw new CheckpointError(
          `${dir}: weight ${i} (${s.name}) has shape [${s.tensor.shape}], the model's ${w.originalName} has [${w.shape}]`,
        );
      }
    });
    model.setWeights(saved.map((s) => s.tensor));
  } finally {
    tf.dispose(saved.map((s) => s.tensor));
  }
}

/**
 * Copies model.json + weights.bin from `from` into directory `to` (created if missing; other files there are left
 * alone). Each file is written to a temp name, fsync'ed and renamed into place, weights.bin before model.json, so
 * a reader that finds model.json finds the weights it describes. Returns the path of model.json.
 */
export async function publishModelFiles(from: string, to: string): Promise<string> {
  await mkdir(to, { recursive: true });
  for (const f of [WEIGHTS_BIN, MODEL_JSON]) {
    const tmp = path.join(to, `.${f}.tmp-${process.pid}`);
    await writeFileSynced(tmp, await readFile(path.join(from, f)));
    await rename(tmp, path.join(to, f));
  }
  await syncDir(to);
  return path.join(to, MODEL_JSON);
}

/** Loads a model written by saveModelFiles / publishModelFiles (e.g. a trial's result.weightsPath directory). */
export async function loadModelFromDir(tf: Tf, dir: string): Promise<tfTypes.LayersModel> {
  const json = JSON.parse(await readFile(path.join(dir, MODEL_JSON), "utf8")) as tfTypes.io.ModelJSON;
  const bin = await readFile(path.join(dir, WEIGHTS_BIN));
  // Our padded convolutions are a custom layer: a process that has not built a model yet must register it.
  registerCustomLayers(tf);
  return tf.loadLayersModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  });
}
