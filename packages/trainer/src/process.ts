/**
 * The trainer process, apart from the process object (main.ts binds it to stdin/stdout/stderr and signals).
 *
 * Contract (packages/core/src/trainer-contract.ts, README.md): one TrainerSpec as JSON on stdin; one
 * TrainerMessage per line on stdout (ready, epoch*, checkpoint*, then result or error); logs on stderr.
 * Exit codes: 0 after `result`; 2 after `error` bad_spec; 143 after `error` cancelled (SIGTERM); 1 otherwise.
 * Every outgoing message is validated against the contract's zod schema before it is written.
 * tfjs, the models and the data package are imported only once the spec is valid: a bad spec is answered in
 * a fraction of the start-up time of a trial.
 */
import { availableParallelism } from "node:os";
import type { Readable, Writable } from "node:stream";
import { TrainerMessage, TrainerSpec } from "@hypersweep/core";
import type { BackendName } from "./backend/index.ts";
import { BadSpecError, TrainerError, toTrainerError } from "./errors.ts";

export const EXIT_CODES = { ok: 0, failed: 1, badSpec: 2, cancelled: 143 } as const;

export interface TrainerProcessIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGTERM. */
  signal: AbortSignal;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/** Parses the spec; failures name every offending field (`learningRate: …; data.cacheDir: …`). */
export function parseSpec(text: string): TrainerSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BadSpecError(`stdin is not a JSON TrainerSpec: ${(e as Error).message}`);
  }
  const parsed = TrainerSpec.safeParse(json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", message: i.message }));
  throw new BadSpecError(`invalid TrainerSpec: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
}

export const THREADS_ENV = "HYPERSWEEP_TRAINER_THREADS";

/**
 * Threads this trainer may use (the wasm backend's pool): HYPERSWEEP_TRAINER_THREADS, which the worker sets
 * to its cores divided by its concurrency; all cores when the trainer runs on its own, as torch would.
 */
export function threadsFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[THREADS_ENV];
  if (raw === undefined || raw === "") return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new BadSpecError(`${THREADS_ENV} must be an integer from 1 to 256, got ${JSON.stringify(raw)}`);
  return n;
}

function exitCodeFor(e: TrainerError): number {
  if (e.reason === "bad_spec") return EXIT_CODES.badSpec;
  if (e.reason === "cancelled") return EXIT_CODES.cancelled;
  return EXIT_CODES.failed;
}

/** Runs one trial over the given streams; resolves to the process exit code. Never throws. */
export async function runTrainerProcess(io: TrainerProcessIo): Promise<number> {
  const log = (line: string) => void io.stderr.write(`[trainer] ${line}\n`);
  const emit = (m: TrainerMessage) => void io.stdout.write(`${JSON.stringify(TrainerMessage.parse(m))}\n`);
  let close: (() => Promise<void>) | undefined;
  try {
    const spec = parseSpec(await readAll(io.stdin));
    const threads = threadsFromEnv(io.env);
    log(`trial ${spec.trialId} attempt ${spec.attempt}: ${spec.architecture} ${spec.stage} lr ${spec.learningRate}`);
    const evaluating = spec.stage === "evaluate";
    const [{ loadBackend }, { openTrialDataFor, openEvaluationDataFor }, { trainTrial }, { evaluateModel, evaluateBlock }] = await Promise.all([
      import("./backend/index.ts"),
      import("./data-source.ts"),
      import("./train-trial.ts"),
      import("./evaluate-model.ts"),
    ]);
    if (evaluating) evaluateBlock(spec);
    const backend = await loadBackend(spec.backend as BackendName | undefined, { threads });
    log(`backend ${backend.name}${backend.versions["wasmThreads"] ? ` with ${backend.versions["wasmThreads"]} threads` : ""}${backend.versions["wasmThreadsNote"] ? ` (${backend.versions["wasmThreadsNote"]})` : ""}`);
    const data = evaluating ? await openEvaluationDataFor(spec, io.env) : await openTrialDataFor(spec, io.env);
    close = data.close?.bind(data);
    const run = evaluating ? evaluateModel : trainTrial;
    const result = await run(spec, data, {
      tf: backend.tf, emit, signal: io.signal, log,
      backend: { name: backend.name, versions: backend.versions },
    });
    emit(result);
    return EXIT_CODES.ok;
  } catch (e) {
    const err = toTrainerError(e);
    log(`${err.code}: ${err.message}${err.cause instanceof Error && err.cause.stack ? `\n${err.cause.stack}` : ""}`);
    emit({ type: "error", reason: err.reason, message: err.message });
    return exitCodeFor(err);
  } finally {
    await close?.().catch((e: unknown) => log(`closing the data failed: ${String(e)}`));
  }
}
