/**
 * Worker nodes that share no filesystem with the API: before a trainer starts, the data it names (the dataset
 * version's manifest, its preprocessed images at the spec's size, pretrained weights) is made complete in the
 * node's own cache (NodeCache) and the spec is pointed at it. The trainer reads only the cache then: no image
 * files, no path of the API's machine.
 *
 * A final training that ran on fetched data uploads its model to the API before its result is recorded (the
 * result names the stored model); an evaluation fetches a stored model it cannot read.
 *
 * HYPERSWEEP_CACHE_FETCH: `true` always fetches; `auto` (default) fetches a version whose directory this node
 * cannot read (and weights it does not have), when HYPERSWEEP_API_URL and HYPERSWEEP_WORKER_TOKEN are set;
 * `false` never does (the shared volume of the README's first deployment).
 */
import { access } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ConfigError, type WorkerConfig } from "@hypersweep/config";
import { parseModelPath, type TrainerData, type TrainerSpec } from "@hypersweep/core";
import type { RunOutcome, TrialRun, TrialRunner } from "../runner.ts";
import { CacheFetchError, WorkerApi } from "./download.ts";
import { uploadModel } from "./model-upload.ts";
import { NodeCache, type Pinned } from "./node-cache.ts";

type FetchConfig = Pick<WorkerConfig, "HYPERSWEEP_CACHE_FETCH" | "HYPERSWEEP_CACHE_MAX_BYTES" | "HYPERSWEEP_API_URL" | "HYPERSWEEP_WORKER_TOKEN" | "HYPERSWEEP_CACHE_DIR">;
type Log = (msg: string, extra?: Record<string, unknown>) => void;

const readable = (path: string) => access(path).then(() => true, () => false);

export class FetchingRunner implements TrialRunner {
  constructor(
    private readonly inner: TrialRunner,
    readonly cache: NodeCache,
    private readonly always: boolean,
  ) {}

  async run(run: TrialRun): Promise<RunOutcome> {
    const pins: Pinned[] = [];
    try {
      let spec: TrainerSpec;
      let fetched: boolean;
      try {
        ({ spec, fetched } = await this.localiseRun(run.spec, pins, run.signal));
      } catch (err) {
        if (run.signal.aborted) return { kind: "error", reason: "cancelled", message: "stopped while fetching the trial's data", retryable: true };
        const message = `fetching the trial's data from the API failed: ${(err as Error).message}`;
        // The API refusing (its files missing, a build failing) is no fault of this node: it does not count
        // towards the node's quarantine. Not reaching the API, or bytes that fail their hash twice, do ("data").
        return { kind: "error", reason: err instanceof CacheFetchError && err.byApi ? "fetch" : "data", message, retryable: true };
      }
      const out = await this.inner.run({ ...run, spec });
      // A final model trained on fetched data would stay on this node: it goes to the API before its result is
      // recorded, and the result names the stored model.
      if (out.kind !== "result" || !fetched || spec.stage !== "final" || !out.result.weightsPath || parseModelPath(out.result.weightsPath)) return out;
      try {
        const { address } = await uploadModel(this.cache.opts.api, out.result.weightsPath, { trialId: spec.trialId, attempt: spec.attempt }, run.signal);
        return { kind: "result", result: { ...out.result, weightsPath: address } };
      } catch (err) {
        if (run.signal.aborted) return { kind: "error", reason: "cancelled", message: "stopped while uploading the final model", retryable: true };
        const message = `uploading the final model to the API failed: ${(err as Error).message}`;
        return { kind: "error", reason: err instanceof CacheFetchError && err.byApi ? "fetch" : "data", message, retryable: true };
      }
    } finally {
      await Promise.all(pins.map((p) => p.release().catch(() => {})));
    }
  }

  /** As localise, and whether the trial's own data was fetched (this node does not share the data root). */
  async localiseRun(spec: TrainerSpec, pins: Pinned[], signal?: AbortSignal): Promise<{ spec: TrainerSpec; fetched: boolean }> {
    const out = await this.localise(spec, pins, signal);
    return { spec: out, fetched: out.data.datasetDir !== spec.data.datasetDir };
  }

  /** The spec with every dataset version and weights file it reads in this node's cache (pinned into `pins`). */
  async localise(spec: TrainerSpec, pins: Pinned[], signal?: AbortSignal): Promise<TrainerSpec> {
    const data = async (d: TrainerData): Promise<TrainerData> => {
      if (!this.always && (await readable(resolve(d.datasetDir, "manifest.json")))) return d;
      // Versions are stored content-addressed (<data dir>/versions/<contentHash>): the name is the content hash.
      const local = await this.cache.version(basename(d.datasetDir), spec.imageSize, signal);
      pins.push(local);
      return { ...d, datasetDir: local.datasetDir, cacheDir: resolve(this.cache.opts.root) };
    };
    const out: TrainerSpec = { ...spec, data: await data(spec.data) };
    if (spec.evaluate) {
      out.evaluate = { ...spec.evaluate, trainedOn: await data(spec.evaluate.trainedOn) };
      // A model stored by the API (a final training of a node without the shared volume) is fetched like the data.
      const model = parseModelPath(spec.evaluate.weightsPath);
      if (model && (this.always || !(await readable(spec.evaluate.weightsPath)))) {
        const local = await this.cache.model(model.modelId, signal);
        pins.push(local);
        out.evaluate.weightsPath = join(local.path, model.name);
      }
    }
    if (spec.pretrained && (this.always || !(await readable(spec.pretrained)))) {
      const sha = basename(spec.pretrained).replace(/\.safetensors$/, "");
      const local = await this.cache.weights(sha, signal);
      pins.push(local);
      out.pretrained = local.path;
    }
    return out;
  }
}

/** The node's runner: `inner` itself, or wrapped so that data is fetched first (HYPERSWEEP_CACHE_FETCH). */
export function withCacheFetch(inner: TrialRunner, cfg: FetchConfig, log?: Log): TrialRunner {
  if (inner instanceof FetchingRunner || cfg.HYPERSWEEP_CACHE_FETCH === "false") return inner;
  const url = cfg.HYPERSWEEP_API_URL;
  const token = cfg.HYPERSWEEP_WORKER_TOKEN;
  if (!url || !token) {
    if (cfg.HYPERSWEEP_CACHE_FETCH === "auto") return inner;
    throw new ConfigError([
      ...(url ? [] : [{ variable: "HYPERSWEEP_API_URL", message: "required when HYPERSWEEP_CACHE_FETCH is true" }]),
      ...(token ? [] : [{ variable: "HYPERSWEEP_WORKER_TOKEN", message: "required when HYPERSWEEP_CACHE_FETCH is true" }]),
    ]);
  }
  const api = new WorkerApi({ url, token, log });
  const cache = new NodeCache({ root: resolve(cfg.HYPERSWEEP_CACHE_DIR), maxBytes: cfg.HYPERSWEEP_CACHE_MAX_BYTES, api, log });
  return new FetchingRunner(inner, cache, cfg.HYPERSWEEP_CACHE_FETCH === "true");
}

export { CacheFetchError };
