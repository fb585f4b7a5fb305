/**
 * The selection metric is a per-sweep choice: stored with the sweep, used for every trial's scores, and named
 * by /v1/best and the leaderboard. Real HTTP, Postgres, Redis and worker, with the fixture trainer.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, ROOT, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

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

    // Every score a person reads is the validation loss itself (lower is better), never the negated ranking key.
    expect(lowest.valLoss).toBeGreaterThan(0);
    expect(best.body.winner).toMatchObject({ higherIsBetter: false, valLoss: lowest.valLoss });
    expect(best.body.winner.score).toBeCloseTo(lowest.valLoss, 12);
    expect(board.body.rows[0].score).toBeCloseTo(lowest.valLoss, 12);
    expect(paper.body.winner).toMatchObject({ higherIsBetter: true, score: paper.body.winner.valAuc });
    const cli = (args: string[]) => promisify(execFile)("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), ...args], {
      cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey, NO_COLOR: "1" },
    });
    const shown = lowest.valLoss.toFixed(3);
    for (const args of [["best", "--dataset", s.dataset.id, "--scenario", "ct/binary", "--arch", "small_cnn", "--metric", "valLoss"], ["leaderboard", "--dataset", s.dataset.id, "--metric", "valLoss"]]) {
      const table = (await cli(args)).stdout;
      expect(table).toContain("validation loss (lower is better)");
      expect(table).toContain(shown);
      expect(table).not.toContain(`-${shown}`);
    }
    const status = (await cli(["status", byLoss.id])).stdout;
    expect(status).toContain(shown);
    expect(status).not.toContain(`-${shown}`);
    const overview = (await s.http("GET", "/v1/overview/sweeps")).body.sweeps.find((x: { id: string }) => x.id === byLoss.id);
    expect(overview.bestScore).toBeCloseTo(lowest.valLoss, 12);
    const report = await fetch(`${s.url}/v1/sweeps/${byLoss.id}/report`, { headers: { authorization: `Bearer ${s.team.apiKey}` } }).then((r) => r.text());
    expect(report).toContain(`loss ${shown}`);

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
