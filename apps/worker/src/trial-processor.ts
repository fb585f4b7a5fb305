/**
 * One delivery of a wake-up token. Delivery is at-least-once; this function makes results exactly-once:
 *  1. claim the trial fair share says runs next in Postgres (a new attempt holding a lease) — or learn that
 *     nothing may start now (processNextTrial); or, by id, claim one given trial (processTrial);
 *  2. run the trainer, renewing the lease on a timer; a heartbeat refused means the trial was cancelled or
 *     taken over: stop the trainer at once;
 *  3. write every epoch as it arrives and the result once, each guarded by the lease. While Postgres is
 *     unreachable, writes wait and retry: a result in hand is never dropped for a passing outage.
 * A search trial of a sweep with early stopping records its rung epochs with their decision (recordRungEpoch):
 * told to stop, it is already finished in Postgres; the worker stops the trainer and returns without waiting.
 */
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { plannedHalving, selectionScores, TrainerSpec, weightsRelativePath, type TrainerMessage } from "@hypersweep/core";
import { isConnectionError, LeaseLostError, type ClaimedTrial, type EpochRecord, type QuarantinePolicy } from "@hypersweep/db";
import { MetricInputError } from "@hypersweep/metrics";
import { asTraining, EvaluationResultError, evaluationSpec, isEvaluation, loadEvaluation, modelPathOnNode, recordEvaluation } from "./evaluation-job.ts";
import type { RunOutcome, TrialRunner } from "./runner.ts";
import type { WorkerStore } from "./store.ts";
import { PredictionsMismatchError, scoreEpoch, scoreResult, type ScoredResult } from "./scoring.ts";

export interface ProcessorConfig {
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  maxAttempts: number;
  runsDir: string;
  cacheDir: string;
  /** The data root (shared with the API): imported pretrained weights live under it. */
  dataDir: string;
  backend?: TrainerSpec["backend"];
  /** The trainers this worker runs: it claims only trials that need one of them. @defaultValue ["tfjs"] */
  trainers?: string[];
  /** When this worker is quarantined for failures of its own (off when absent). */
  quarantine?: QuarantinePolicy;
}

export type ProcessResult =
  | { kind: "done"; status: string }
  | { kind: "held"; until: Date }
  /** The trial needs a trainer this worker does not run. */
  | { kind: "elsewhere"; trainer: string }
  /** `stoppedEarlyAt`: the rung at which early stopping ended the trial (its result is its best stored epoch). */
  /** `finalStageChecked`: recording the result also queued the final stage it made due (none to ask for). */
  | { kind: "succeeded"; attempt: number; stoppedEarlyAt?: number; finalStageChecked?: boolean }
  | { kind: "failed"; attempt: number; retry: boolean; reason: string; message: string; quarantined?: { reason: string; until: Date } }
  | { kind: "lost"; attempt: number }
  | { kind: "released"; attempt: number };

export interface ProcessorHooks {
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Aborted when the worker drains: the trial is handed back, not failed. */
  drain?: AbortSignal;
  env?: Record<string, string>;
  onEpoch?: (durationMs: number) => void;
  /** The backend a trainer reported when it started. */
  onReady?: (backend: string, trainer: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retries `fn` while the truth is unreachable (Postgres, or the API in front of it: `isDown` says which errors
 * mean that), backing off up to 2 s, for at most `maxMs`. `onWait` hears each failure it waits out.
 */
export async function whileDbDown<T>(
  fn: () => Promise<T>,
  maxMs = 15 * 60_000,
  isDown: (err: unknown) => boolean = isConnectionError,
  onWait?: (err: unknown, waitedMs: number) => void,
): Promise<T> {
  const start = Date.now();
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isDown(err) || Date.now() - start > maxMs) throw err;
      onWait?.(err, Date.now() - start);
      await sleep(delay);
    }
  }
}

/**
 * The trainer spec for this attempt: the planned spec plus where the data, checkpoints and weights live. A trial
 * planned with pretrained weights (name + sha256) gets the path of their content-addressed file, its classifier
 * replaced for the scenario's classes.
 */
export function trainerSpecFor(c: ClaimedTrial, cfg: ProcessorConfig): TrainerSpec {
  const { pretrainedWeights, halving: _halving, ...planned } = c.spec as Record<string, unknown> & { pretrainedWeights?: { sha256: string } };
  const scenario = c.scenario as { key: string; modality: "ct" | "radiograph"; task: "binary" | "multiclass"; classes: string[]; positiveClass: string; filters?: Record<string, unknown>; minPerClass?: number };
  const runDir = resolve(cfg.runsDir, c.trialId);
  return TrainerSpec.parse({
    ...planned,
    ...(pretrainedWeights ? { pretrained: resolve(cfg.dataDir, weightsRelativePath(pretrainedWeights.sha256)), pretrainedHead: "replace" } : {}),
    trialId: c.trialId,
    attempt: c.attempt,
    data: {
      datasetVersionId: c.datasetVersionId,
      datasetDir: resolve(c.datasetStoragePath),
      cacheDir: resolve(cfg.cacheDir),
      scenario: {
        key: scenario.key, modality: scenario.modality, task: scenario.task, classes: scenario.classes,
        positiveClass: scenario.positiveClass, filters: scenario.filters ?? {}, minPerClass: scenario.minPerClass ?? 0,
      },
    },
    checkpointDir: join(runDir, "checkpoint"),
    outputDir: join(runDir, "output"),
    ...(cfg.backend ? { backend: cfg.backend } : {}),
  });
}

/**
 * Selection and tie-break scores, as selectBest ranks them: the sweep's selection metric first, then its
 * tie-break metric, both oriented so that higher is better (core's selectionScores).
 */
export function scores(spec: Pick<TrainerSpec, "selectionMetric" | "task">, metrics: Record<string, unknown>) {
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return { valAuc: num(metrics.auc), valF1: num(metrics.f1), valLoss: num(metrics.valLoss), ...selectionScores(spec.selectionMetric, metrics, spec.task) };
}

/** The backend as recorded on the attempt: its name, and the wasm pool's threads where the trainer says. */
export function backendLabel(backend: string, versions: Record<string, string>): string {
  const threads = versions["wasmThreads"];
  return threads ? `${backend} (${threads} thread${threads === "1" ? "" : "s"})` : backend;
}

/** Runs one given trial (claimed by id): finished ones are `done`, ones another live attempt holds are `held`. */
export async function processTrial(store: WorkerStore, runner: TrialRunner, trialId: string, cfg: ProcessorConfig, hooks: ProcessorHooks = {}): Promise<ProcessResult> {
  const claim = await whileDbDown(() => store.claim(trialId, cfg.workerId, { leaseMs: cfg.leaseMs, maxAttempts: cfg.maxAttempts, trainers: cfg.trainers }), undefined, store.isUnavailable);
  if (claim.kind !== "claimed") return claim;
  return runClaimed(store, runner, claim.trial, cfg, hooks);
}

export type NextResult = { kind: "idle"; owed: boolean } | (ProcessResult & { trialId: string; sweepId: string });

/**
 * Runs the trial fair share says is next for this worker (claimNext), or answers `idle` when nothing may start
 * now (`owed`: trials wait, but out of this worker's reach for now).
 */
export async function processNextTrial(store: WorkerStore, runner: TrialRunner, cfg: ProcessorConfig, hooks: ProcessorHooks = {}): Promise<NextResult> {
  // One key per claim: a claim sent again after its answer was lost gets the attempt its first copy opened.
  const opts = { leaseMs: cfg.leaseMs, maxAttempts: cfg.maxAttempts, trainers: cfg.trainers, claimKey: randomUUID() };
  let sent = 0;
  const claim = await whileDbDown(() => store.claimNext(cfg.workerId, { ...opts, repeat: sent++ > 0 }), undefined, store.isUnavailable);
  if (claim.kind !== "claimed") return claim;
  const r = await runClaimed(store, runner, claim.trial, cfg, hooks);
  return { ...r, trialId: claim.trial.trialId, sweepId: claim.trial.sweepId };
}

async function runClaimed(store: WorkerStore, runner: TrialRunner, c: ClaimedTrial, cfg: ProcessorConfig, hooks: ProcessorHooks): Promise<ProcessResult> {
  const retrying = <T>(fn: () => Promise<T>) => whileDbDown(fn, undefined, store.isUnavailable);
  const trialId = c.trialId;
  const attempt = c.attempt;
  const log = hooks.log ?? (() => {});

  let spec: TrainerSpec;
  // An evaluation (stage evaluate) runs under the same claim, lease and fences; its spec and result differ.
  const evaluation = isEvaluation(c) ? await retrying(() => loadEvaluation(store, c)).catch((err: Error) => err) : null;
  try {
    if (evaluation instanceof Error) throw evaluation;
    if (evaluation) {
      const training = asTraining(c);
      spec = evaluationSpec(trainerSpecFor(training, cfg), { ...training.stored, weightsPath: modelPathOnNode(training.stored.weightsPath, cfg.dataDir) }, evaluation);
    } else spec = trainerSpecFor(c, cfg);
  } catch (err) {
    const message = `the stored trial spec is not a valid trainer spec: ${(err as Error).message}`;
    const { retry } = await retrying(() => store.failAttempt(trialId, attempt, { reason: "bad_spec", message, maxAttempts: cfg.maxAttempts, retryable: false }));
    return { kind: "failed", attempt, retry, reason: "bad_spec", message };
  }

  const stop = new AbortController();
  let lost = false;
  let released = false;
  const onDrain = () => {
    released = true;
    stop.abort();
  };
  hooks.drain?.addEventListener("abort", onDrain, { once: true });
  const beat = setInterval(() => {
    store.heartbeat(trialId, attempt, cfg.leaseMs).then(
      (held) => {
        if (!held && !lost) {
          lost = true;
          log("lease lost (cancelled or taken over): stopping the trainer", { trialId, attempt });
          stop.abort();
        }
      },
      (err) => log(`heartbeat failed: ${(err as Error).message}`, { trialId }),
    );
  }, cfg.heartbeatMs);

  const epochs: EpochRecord[] = [];
  let backend: string | undefined;
  let started: Promise<void> = Promise.resolve();
  // Early stopping: the rungs at which Postgres decides whether this search trial goes on.
  const halving = evaluation ? null : plannedHalving(c.spec);
  let stoppedEarlyAt: number | null = null;
  let onStopped = () => {};
  const stopped = new Promise<"stopped">((r) => (onStopped = () => r("stopped")));
  const onMessage = async (m: TrainerMessage) => {
    if (lost || stoppedEarlyAt !== null) return;
    try {
      if (m.type === "ready") {
        const label = backendLabel(m.backend, m.versions);
        backend = label;
        hooks.onReady?.(label, c.trainer ?? "tfjs");
        // Written beside the first epoch, not before it (nothing waits on it); settled before the attempt ends.
        started = retrying(() => store.markStarted(trialId, attempt, { backend: label, resumedFromEpoch: m.resumedFromEpoch }));
        started.catch(() => {});
      }
      if (m.type === "epoch") {
        hooks.onEpoch?.(m.durationMs);
        const rec = scoreEpoch(spec, m);
        epochs.push(rec);
        if (halving?.rungs.includes(rec.epoch)) {
          const d = await retrying(() => store.recordRungEpoch(trialId, attempt, rec, epochs, cfg.leaseMs));
          if (d && !d.continues) {
            log(`stopped early at epoch ${d.rung}: rank ${d.rank} of ${d.reached}, ${d.kept} go on`, { trialId, attempt });
            stoppedEarlyAt = d.rung;
            stop.abort();
            onStopped();
          }
        } else await retrying(() => store.recordEpoch(trialId, attempt, rec, cfg.leaseMs));
      }
    } catch (err) {
      if (err instanceof LeaseLostError) {
        lost = true;
        stop.abort();
        return;
      }
      throw err;
    }
  };

  let outcome: RunOutcome | "stopped";
  try {
    // A trial stopped early is finished in Postgres already: the trainer is being stopped, nobody waits for it.
    const run = runner.run({ spec, onMessage, signal: stop.signal, env: hooks.env, trainer: c.trainer });
    outcome = await Promise.race([run, stopped]);
  } finally {
    clearInterval(beat);
    hooks.drain?.removeEventListener("abort", onDrain);
  }

  try {
    // The start's write lands before the attempt's end (a refused one means the lease was lost).
    await started;
    if (outcome === "stopped" && stoppedEarlyAt !== null) return { kind: "succeeded", attempt, stoppedEarlyAt };
    if (lost || outcome === "stopped") return { kind: "lost", attempt };
    if (released && outcome.kind !== "result") {
      await retrying(() => store.releaseAttempt(trialId, attempt, "handed back: the worker was shutting down"));
      return { kind: "released", attempt };
    }
    if (outcome.kind === "result" && evaluation) {
      try {
        await retrying(() => recordEvaluation(store, c, attempt, spec, evaluation, outcome.result, backend));
        return { kind: "succeeded", attempt };
      } catch (err) {
        if (!(err instanceof EvaluationResultError || err instanceof MetricInputError)) throw err;
        const message = `the trainer's evaluation result was refused: ${err.message}`;
        const { retry } = await retrying(() => store.failAttempt(trialId, attempt, { reason: "protocol", message, maxAttempts: cfg.maxAttempts, retryable: false }));
        return { kind: "failed", attempt, retry, reason: "protocol", message };
      }
    }
    if (outcome.kind === "result") {
      let scored: ScoredResult;
      try {
        scored = scoreResult(spec, outcome.result, epochs);
      } catch (err) {
        if (!(err instanceof PredictionsMismatchError)) throw err;
        await retrying(() => store.failAttempt(trialId, attempt, { reason: "protocol", message: err.message, maxAttempts: cfg.maxAttempts, retryable: false }));
        return { kind: "failed", attempt, retry: false, reason: "protocol", message: err.message };
      }
      await retrying(() => store.recordPredictions(trialId, attempt, scored.predictions));
      const { finalStageChecked } = await retrying(() => store.recordResult(trialId, attempt, { bestEpoch: outcome.result.bestEpoch, metrics: scored.metrics, weightsPath: outcome.result.weightsPath, epochs, backend, ...scores(spec, scored.valMetrics) }));
      return { kind: "succeeded", attempt, finalStageChecked };
    }
    // A failure of the run itself also judges this node (it may be quarantined by it: see judgeNode).
    const failed = await retrying(() => store.failAttempt(trialId, attempt, { reason: outcome.reason, message: outcome.message, maxAttempts: cfg.maxAttempts, retryable: outcome.retryable, quarantine: cfg.quarantine }));
    return { kind: "failed", attempt, reason: outcome.reason, message: outcome.message, ...failed };
  } catch (err) {
    if (err instanceof LeaseLostError) return { kind: "lost", attempt };
    throw err;
  }
}
