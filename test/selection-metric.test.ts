/**
 * The selection metric is a per-sweep choice: stored with the sweep, used for every trial's scores, and named
 * by /v1/best and the leaderboard. Real HTTP, Postgres, Redis and worker, with the fixture trainer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

describe("a sweep decided by validation loss", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("selmetric");
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2" });
  });
  afterAll(async () => {
    await s?.close();
  });

  const run = async (overrides: Record<string, unknown>) => {
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, learningRates: [1e-3, 1e-4], subsetsPerRate: 3, final: false, ...overrides } }));
    expect(res.status).toBe(201);
    await eventually(async () => (await s.http("GET", `/v1/sweeps/${res.body.id}`)).body.status === "succeeded", 60_000);
    return res.body;
  };

  it("stores the choice, ranks by the lowest loss, and says so; the paper's default answers separately", async () => {
    const byLoss = await run({ selectionMetric: "valLoss" });
    expect(byLoss.spec.selectionMetric).toBe("valLoss");
    const byAuc = await run({});
    expect(byAuc.spec.selectionMetric).toBe("auc");
    const trials = (await s.http("GET", `/v1/sweeps/${byLoss.id}/trials`)).body.trials as Array<{ id: string; valLoss: number; selectionScore: number }>;
    const lowest = [...trials].sort((a, b) => a.valLoss - b.valLoss)[0]!;
    expect(lowest.selectionScore).toBeCloseTo(-lowest.valLoss, 12);

    const q = `dataset=${s.dataset.id}&scenario=ct/binary&architecture=small_cnn`;
    const best = await s.http("GET", `/v1/best?${q}&metric=valLoss`);
    expect(best.body).toMatchObject({ decidedBy: "validation loss (lower is better)", selectionMetric: "valLoss", winner: { trialId: lowest.id } });
    const paper = await s.http("GET", `/v1/best?${q}`);
    expect(paper.body).toMatchObject({ decidedBy: "validation AUC", selectionMetric: "auc", winner: { sweepId: byAuc.id } });
    const board = await s.http("GET", `/v1/leaderboard?dataset=${s.dataset.id}&metric=valLoss`);
    expect(board.body.rows.map((r: { trialId: string; decidedBy: string }) => [r.trialId, r.decidedBy])).toEqual([[lowest.id, "validation loss (lower is better)"]]);
    const bad = await s.http("GET", `/v1/best?${q}&metric=speed`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("metric");
  }, 120_000);

  it("rejects an unknown selection metric naming the field", async () => {
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { selectionMetric: "speed" } }));
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path)).toContain("overrides.selectionMetric");
  });
});
