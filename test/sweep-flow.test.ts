/**
 * End to end over real HTTP, Postgres, Redis/BullMQ and trainer child processes (the fixture trainer speaks the
 * real contract and reports known metrics): submit → plan → queue → worker → epochs and results → best.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

describe("a sweep from submission to best configuration", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("flow");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("stores the default preset's plan for one architecture: 20 trials, 4 learning rates × 5 distinct subsets, all enqueued", async () => {
    const res = await s.http("POST", "/v1/sweeps", { dataset: s.dataset.id, scenario: { modality: "ct", task: "binary" }, architectures: ["resnet18"], seed: 7 });
    expect(res.status).toBe(201);
    expect(res.body.trialCount).toBe(20);
    expect(res.body.enqueued).toBe(true);
    const { body } = await s.http("GET", `/v1/sweeps/${res.body.id}/trials`);
    const trials = body.trials as Array<{ learningRate: number; augmentations: string[]; status: string }>;
    expect(trials).toHaveLength(20);
    const byLr = new Map<number, Set<string>>();
    for (const t of trials) {
      const set = byLr.get(t.learningRate) ?? new Set<string>();
      set.add(t.augmentations.join("+"));
      byLr.set(t.learningRate, set);
    }
    expect([...byLr.keys()].sort()).toEqual([1e-6, 1e-5, 1e-4, 1e-3]);
    for (const subsets of byLr.values()) expect(subsets.size).toBe(5);
    const held = await s.queue.getJobs(["waiting", "delayed", "prioritized"]);
    expect(new Set(held.map((j) => j.id))).toEqual(new Set(res.body.trials.map((t: { id: string }) => t.id)));

    const again = await s.http("POST", "/v1/sweeps", { dataset: s.dataset.id, scenario: { modality: "ct", task: "binary" }, architectures: ["resnet18"], seed: 7 });
    const other = await s.http("POST", "/v1/sweeps", { dataset: s.dataset.id, scenario: { modality: "ct", task: "binary" }, architectures: ["resnet18"], seed: 8 });
    expect(again.body.planHash).toBe(res.body.planHash);
    expect(other.body.planHash).not.toBe(res.body.planHash);
    for (const id of [res.body.id, again.body.id, other.body.id]) await s.http("POST", `/v1/sweeps/${id}/cancel`);
  });

  it("runs a sweep to completion through a real worker; /v1/best returns the trial with the highest validation AUC", async () => {
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id));
    expect(res.status).toBe(201);
    const id = res.body.id;
    const done = await eventually(async () => {
      const r = await s.http("GET", `/v1/sweeps/${id}`);
      return ["succeeded", "failed"].includes(r.body.status) ? r.body : null;
    }, 60_000);
    expect(done.status).toBe("succeeded");
    expect(done.counts.succeeded).toBe(20);
    expect(done.progress.fraction).toBe(1);

    const { body } = await s.http("GET", `/v1/sweeps/${id}/trials`);
    const trials = body.trials as Array<{ id: string; valAuc: number; epochsDone: number; attemptCount: number }>;
    for (const t of trials) {
      expect(t.epochsDone).toBe(3);
      expect(t.attemptCount).toBe(1);
    }
    const top = [...trials].sort((a, b) => b.valAuc - a.valAuc)[0];
    const best = await s.http("GET", `/v1/best?dataset=${s.dataset.id}&scenario=ct/binary&architecture=small_cnn`);
    expect(best.status).toBe(200);
    expect(best.body.decidedBy).toBe("validation AUC");
    expect(best.body.winner.trialId).toBe(top.id);
    expect(best.body.winner.valAuc).toBeCloseTo(top.valAuc, 12);

    const trial = await s.http("GET", `/v1/trials/${top.id}`);
    expect(trial.body.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3]);
    expect(trial.body.attempts).toHaveLength(1);
    expect(trial.body.attempts[0].status).toBe("succeeded");
    expect(trial.body.backend).toBe("fake");

    const fleet = await s.http("GET", "/v1/workers");
    expect(fleet.body.workers).toHaveLength(1);
    expect(fleet.body.workers[0]).toMatchObject({ alive: true, concurrency: 2, backend: "fake", version: "0.1.0", gpus: [] });

    const board = await s.http("GET", `/v1/leaderboard?dataset=${s.dataset.name}`);
    expect(board.body.rows).toHaveLength(1);
    expect(board.body.rows[0].trialId).toBe(top.id);
    expect(board.body.rows[0].decidedBy).toBe("validation AUC");
  });

  it("final training retrains the winner with early stopping and test evaluation; /v1/best shows its test score", async () => {
    const sweepId = (await s.db.sweep.findFirstOrThrow({ where: { status: "succeeded", scenarioKey: "ct/binary" }, orderBy: { createdAt: "asc" } })).id;
    const best = (await s.http("GET", `/v1/best?dataset=${s.dataset.id}&scenario=ct/binary&architecture=small_cnn`)).body.winner;
    const res = await s.http("POST", `/v1/sweeps/${sweepId}/final`, {});
    expect(res.status).toBe(201);
    expect(res.body.trials).toHaveLength(1);
    expect(res.body.trials[0].fromTrialId).toBe(best.trialId);
    const again = await s.http("POST", `/v1/sweeps/${sweepId}/final`, {});
    expect(again.status).toBe(200); // idempotent: the same final trial
    expect(again.body.trials[0].id).toBe(res.body.trials[0].id);
    await eventually(async () => (await s.http("GET", `/v1/sweeps/${sweepId}`)).body.status === "succeeded", 60_000);
    const final = await s.http("GET", `/v1/trials/${res.body.trials[0].id}`);
    expect(final.body.stage).toBe("final");
    expect(final.body.spec).toMatchObject({ stage: "final", epochs: 100, earlyStopping: { patience: 10 }, evaluateTest: true });
    const shown = (await s.http("GET", `/v1/best?dataset=${s.dataset.id}&scenario=ct/binary&architecture=small_cnn`)).body.winner;
    expect(shown.trialId).toBe(best.trialId); // the search winner stays the winner; the final run does not compete
    expect(shown.final).toMatchObject({ trialId: res.body.trials[0].id, status: "succeeded" });
    expect(shown.final.metrics.test.intervals.auc.lower).toBeLessThan(shown.final.metrics.test.intervals.auc.upper);
  });

  it("refuses final training while the search is still running", async () => {
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 50, learningRates: [1e-3], subsetsPerRate: 1 } }));
    const r = await s.http("POST", `/v1/sweeps/${res.body.id}/final`, {});
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/still running/);
    await s.http("POST", `/v1/sweeps/${res.body.id}/cancel`);
  });

  it("a multiclass sweep is decided by validation F1", async () => {
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { scenario: { modality: "radiograph", task: "multiclass" }, overrides: { searchEpochs: 2, learningRates: [1e-3, 1e-4], subsetsPerRate: 2 } }));
    expect(res.status).toBe(201);
    await eventually(async () => (await s.http("GET", `/v1/sweeps/${res.body.id}`)).body.status === "succeeded", 60_000);
    const { body } = await s.http("GET", `/v1/sweeps/${res.body.id}/trials`);
    const top = [...body.trials].sort((a: { valF1: number }, b: { valF1: number }) => b.valF1 - a.valF1)[0];
    const best = await s.http("GET", `/v1/best?dataset=${s.dataset.id}&scenario=radiograph/multiclass&architecture=small_cnn`);
    expect(best.body.decidedBy).toBe("validation F1");
    expect(best.body.winner.trialId).toBe(top.id);
  });

  it("streams progress as server-sent events until the sweep finishes", async () => {
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 2 } }));
    const events: string[] = [];
    const stream = await fetch(`${s.url}/v1/sweeps/${res.body.id}/events`, { headers: { authorization: `Bearer ${s.team.apiKey}` } });
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const text = await stream.text(); // the server ends the stream after sweep.finished
    for (const m of text.matchAll(/^event: (.+)$/gm)) events.push(m[1]);
    expect(events[0]).toBe("snapshot");
    expect(events.at(-1)).toBe("sweep.finished");
    expect(events.filter((e) => e === "trial.finished")).toHaveLength(2);
    expect(events.filter((e) => e === "epoch.done").length).toBeGreaterThanOrEqual(1);
  });
});
