/**
 * Winners per trainer: /v1/best and /v1/leaderboard take `trainer` (tfjs or pytorch) and say which trainer trained
 * each winner; the CLI's tables show the trainer once a winner was trained by PyTorch. Real API, Postgres and CLI;
 * the trials' results are recorded through the same statements a worker runs.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordAucs } from "./helpers/results.ts";
import { ROOT, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

const run = promisify(execFile);
let s: Stack;
beforeAll(async () => {
  s = await startStack("besttrainer");
});
afterAll(async () => s?.close());

describe("the best configuration per trainer", () => {
  it("filters by trainer and names the trainer of each winner; an unknown trainer is 400 naming the field", async () => {
    const overrides = { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 2, final: false };
    expect((await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { seed: 1, overrides }))).status).toBe(201);
    expect((await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { seed: 2, trainer: "pytorch", overrides }))).status).toBe(201);
    const tf = await recordAucs(s.db, "tfjs", [0.71, 0.74]);
    const torch = await recordAucs(s.db, "pytorch", [0.81, 0.78]);

    const q = `dataset=${s.dataset.id}&scenario=ct/binary&architecture=small_cnn`;
    const either = await s.http("GET", `/v1/best?${q}`);
    expect([either.body.winner.trialId, either.body.winner.trainer, either.body.winner.score]).toEqual([torch[0], "pytorch", 0.81]);
    const tfjs = await s.http("GET", `/v1/best?${q}&trainer=tfjs`);
    expect([tfjs.body.winner.trialId, tfjs.body.winner.trainer, tfjs.body.winner.score]).toEqual([tf[1], "tfjs", 0.74]);
    const board = await s.http("GET", `/v1/leaderboard?dataset=${s.dataset.id}&trainer=tfjs`);
    expect(board.body.rows.map((r: { trialId: string; trainer: string }) => [r.trialId, r.trainer])).toEqual([[tf[1], "tfjs"]]);
    const bad = await s.http("GET", `/v1/best?${q}&trainer=caffe`);
    expect([bad.status, bad.body.issues?.[0]?.path]).toEqual([400, "querystring.trainer"]);

    const cli = (args: string[]) => run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), ...args], { cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey } });
    const mixed = await cli(["leaderboard", "--dataset", "stock"]);
    expect(mixed.stdout).toMatch(/│ trainer\s+│/);
    expect(mixed.stdout).toMatch(/│ pytorch\s+│/);
    const onlyTf = await cli(["best", "--dataset", "stock", "--scenario", "ct/binary", "--arch", "small_cnn", "--trainer", "tfjs"]);
    expect(onlyTf.stdout).toContain("0.740");
    expect(onlyTf.stdout).not.toContain("trainer");
  });
});
