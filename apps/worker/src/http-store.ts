/**
 * The worker's store through the API (HYPERSWEEP_API_URL + HYPERSWEEP_WORKER_TOKEN, no DATABASE_URL): each
 * operation is one request to /v1/worker/*, where the API runs the same packages/db statement. Requests go over
 * a keep-alive pool of a few sockets (undici's Pool.request: a fraction of the CPU of Node's fetch, which a node
 * spends on every epoch of every trial); bodies and answers are checked with the zod schemas of
 * @hypersweep/core's worker protocol. An unreachable API, a timeout or a 502/503/504 is
 * StoreUnavailableError (the caller waits and retries, as for Postgres); a refused lease is LeaseLostError.
 * A request retried after a timeout whose first copy was committed records nothing twice: epochs and predictions
 * overwrite, and a result or failure the attempt already recorded is answered as `replayed`.
 */
import { Pool } from "undici";
import type { z } from "zod";
import {
  WireClaimNextOutcome, WireClaimOutcome, WireEvaluationTargetAnswer, WireFailureOutcome, WireFinalQueued, WireHeld, WireOk, WireQuarantineState, WireReleased, WireResultAnswer, WireRungAnswer,
  WireTrialPredictionsAnswer,
} from "@hypersweep/core";
import { LeaseLostError, type ClaimNextOutcome, type ClaimOutcome, type EvaluationTarget, type TrialPredictions } from "@hypersweep/db";
import type { WorkerStore } from "./store.ts";

/** The API could not be reached or answered that it cannot serve now: wait and try again. */
export class StoreUnavailableError extends Error {
  readonly code = "STORE_UNAVAILABLE";
}

export interface HttpWorkerStoreOptions {
  /**
   * Give up on one request when the API has not begun to answer, or paused its answer, for this long (it is then
   * retried like any outage), ms. @defaultValue 30000
   */
  timeoutMs?: number;
  /** Sockets kept open to the API (one request at a time each). @defaultValue 8 */
  connections?: number;
}

const UNAVAILABLE = new Set([502, 503, 504]);

export class HttpWorkerStore implements WorkerStore {
  private readonly base: string;
  /** The path of /v1/worker under the API's address (which may carry a prefix of its own). */
  private readonly prefix: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly pool: Pool;

  constructor(apiUrl: string, token: string, opts: HttpWorkerStoreOptions = {}) {
    const url = new URL(apiUrl);
    this.prefix = `${url.pathname.replace(/\/+$/, "")}/v1/worker`;
    this.base = `${url.origin}${this.prefix}`;
    this.headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.pool = new Pool(url.origin, { connections: opts.connections ?? 8, connect: { timeout: this.timeoutMs } });
  }

  private async call<S extends z.ZodType>(method: string, path: string, body: unknown, schema: S, lease?: { trialId: string; attempt: number }): Promise<z.output<S>> {
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({
        path: this.prefix + path,
        method: method as "GET" | "POST" | "PUT",
        headers: body === undefined ? { authorization: this.headers.authorization! } : this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new StoreUnavailableError(`${method} ${path}: the API at ${this.base} did not answer (${describe(err)})`, { cause: err });
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    if (status >= 200 && status < 300) {
      const parsed = schema.safeParse(answer);
      if (!parsed.success) throw new Error(`${method} ${path}: the API's answer does not fit the worker protocol: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
      return parsed.data;
    }
    const e = (answer ?? {}) as { error?: string; message?: string };
    if (status === 409 && e.error === "LEASE_LOST" && lease) throw new LeaseLostError(lease.trialId, lease.attempt);
    if (UNAVAILABLE.has(status)) throw new StoreUnavailableError(`${method} ${path}: ${status} ${e.message ?? text.slice(0, 200)}`);
    throw new Error(`${method} ${path}: ${status} ${e.error ?? ""} ${e.message ?? text.slice(0, 500)}`.trim());
  }

  private at(trialId: string, attempt: number) {
    return `/trials/${trialId}/attempts/${attempt}`;
  }

  claimNext: WorkerStore["claimNext"] = (workerId, opts) => {
    const query = opts.claimKey ? `?key=${encodeURIComponent(opts.claimKey)}${opts.repeat ? "&repeat=1" : ""}` : "";
    return this.call("POST", `/claim-next${query}`, { workerId, leaseMs: opts.leaseMs, maxAttempts: opts.maxAttempts, ...(opts.trainers ? { trainers: opts.trainers } : {}) }, WireClaimNextOutcome) as Promise<ClaimNextOutcome>;
  };

  claim: WorkerStore["claim"] = (trialId, workerId, opts) =>
    this.call("POST", `/trials/${trialId}/claim`, { workerId, leaseMs: opts.leaseMs, maxAttempts: opts.maxAttempts, ...(opts.trainers ? { trainers: [...opts.trainers] } : {}) }, WireClaimOutcome) as Promise<ClaimOutcome>;

  markStarted: WorkerStore["markStarted"] = async (trialId, attempt, info) => {
    await this.call("POST", `${this.at(trialId, attempt)}/started`, info, WireOk, { trialId, attempt });
  };

  heartbeat: WorkerStore["heartbeat"] = async (trialId, attempt, leaseMs) =>
    (await this.call("POST", `${this.at(trialId, attempt)}/heartbeat`, { leaseMs }, WireHeld, { trialId, attempt })).held;

  recordEpoch: WorkerStore["recordEpoch"] = async (trialId, attempt, record, leaseMs) => {
    await this.call("POST", `${this.at(trialId, attempt)}/epochs`, { record, leaseMs }, WireOk, { trialId, attempt });
  };

  recordPredictions: WorkerStore["recordPredictions"] = async (trialId, attempt, splits) => {
    if (splits.length === 0) return;
    await this.call("PUT", `${this.at(trialId, attempt)}/predictions`, { splits }, WireOk, { trialId, attempt });
  };

  recordResult: WorkerStore["recordResult"] = async (trialId, attempt, r) => {
    const answer = await this.call("POST", `${this.at(trialId, attempt)}/result?final=check`, r, WireResultAnswer, { trialId, attempt });
    return { finalStageChecked: answer.finalStageChecked ?? false };
  };

  recordRungEpoch: WorkerStore["recordRungEpoch"] = async (trialId, attempt, record, inHand, leaseMs) =>
    (await this.call("POST", `${this.at(trialId, attempt)}/rung-epochs`, { record, inHand, leaseMs }, WireRungAnswer, { trialId, attempt })).outcome;

  failAttempt: WorkerStore["failAttempt"] = (trialId, attempt, f) => this.call("POST", `${this.at(trialId, attempt)}/failure`, f, WireFailureOutcome, { trialId, attempt });

  quarantineState: WorkerStore["quarantineState"] = (workerId) => this.call("GET", `/nodes/${encodeURIComponent(workerId)}/quarantine`, undefined, WireQuarantineState);

  releaseAttempt: WorkerStore["releaseAttempt"] = async (trialId, attempt, why) =>
    (await this.call("POST", `${this.at(trialId, attempt)}/release`, { why }, WireReleased, { trialId, attempt })).released;

  evaluationTarget: WorkerStore["evaluationTarget"] = async (trialId) =>
    (await this.call("GET", `/evaluations/${trialId}`, undefined, WireEvaluationTargetAnswer)).target as EvaluationTarget | null;

  trialPredictions: WorkerStore["trialPredictions"] = async (teamId, trialId) =>
    (await this.call("GET", `/teams/${teamId}/trials/${trialId}/predictions`, undefined, WireTrialPredictionsAnswer)).predictions as TrialPredictions | null;

  recordEvaluationResult: WorkerStore["recordEvaluationResult"] = async (trialId, attempt, r) => {
    await this.call("POST", `/evaluations/${trialId}/attempts/${attempt}/result`, r, WireOk, { trialId, attempt });
  };

  registerWorker: WorkerStore["registerWorker"] = async (info) => {
    await this.call("PUT", `/nodes/${encodeURIComponent(info.id)}`, info, WireOk);
  };

  workerHeartbeat: WorkerStore["workerHeartbeat"] = async (workerId, status) => {
    await this.call("POST", `/nodes/${encodeURIComponent(workerId)}/heartbeat`, status ? { status } : {}, WireOk);
  };

  ensureFinalStage: WorkerStore["ensureFinalStage"] = async (sweepId) => (await this.call("POST", `/sweeps/${sweepId}/final`, undefined, WireFinalQueued)).created;

  isUnavailable = (err: unknown) => err instanceof StoreUnavailableError;

  close = () => this.pool.close();
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || /TIMEOUT/.test((e as { code?: string })?.code ?? "")) return "timed out";
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
