/** Per-team limits (queued trials, open event streams, request rate): 429 with a message, over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

describe("API: per-team limits", () => {
  let s: Stack;
  beforeAll(async () => {
    // sweepBody plans 4 learning rates × 5 subsets = 20 trials: one sweep fits under 30, two do not.
    s = await startStack("limits", { apiEnv: { HYPERSWEEP_MAX_QUEUED_TRIALS: "30", HYPERSWEEP_MAX_STREAMS: "2" } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("refuses a sweep that would take the team past its queued trials, naming the limit and the count", async () => {
    const first = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id));
    expect(first.status).toBe(201);
    const before = await s.db.sweep.count();
    const second = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { seed: 43 }));
    expect(second.status).toBe(429);
    expect(second.body.error).toBe("LIMIT_EXCEEDED");
    expect(second.body.message).toContain("20 queued trial(s)");
    expect(second.body.message).toContain("adds 20");
    expect(second.body.message).toContain("limit of 30");
    expect(second.body.message).toContain("HYPERSWEEP_MAX_QUEUED_TRIALS");
    expect(await s.db.sweep.count()).toBe(before);
    // Another team has its own budget.
    const other = await s.newTeam("limits-other");
    const ds = await s.addDataset(other.id, "stock");
    expect((await s.http("POST", "/v1/sweeps", sweepBody(ds.id), other.apiKey)).status).toBe(201);
    // Cancelling frees the budget.
    expect((await s.http("POST", `/v1/sweeps/${first.body.id}/cancel`)).status).toBe(200);
    const third = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { seed: 44 }));
    expect(third.status).toBe(201);
    await s.http("POST", `/v1/sweeps/${third.body.id}/cancel`);
  });

  it("lets only what fits through when a team submits many sweeps at once", async () => {
    const team = await s.newTeam("limits-race");
    const ds = await s.addDataset(team.id, "stock");
    const answers = await Promise.all([1, 2, 3, 4].map((seed) => s.http("POST", "/v1/sweeps", sweepBody(ds.id, { seed }), team.apiKey)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 429, 429, 429]);
    expect(await s.db.trial.count({ where: { teamId: team.id, status: "queued" } })).toBe(20);
  });

  it("refuses an event stream beyond the team's open streams, and counts a closed one out", async () => {
    const sweep = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { seed: 45 }));
    expect(sweep.status).toBe(201);
    const open = (signal: AbortSignal) => fetch(`${s.url}/v1/sweeps/${sweep.body.id}/events`, { headers: { authorization: `Bearer ${s.team.apiKey}` }, signal });
    const a = new AbortController();
    const b = new AbortController();
    expect((await open(a.signal)).status).toBe(200);
    expect((await open(b.signal)).status).toBe(200);
    const third = await open(new AbortController().signal);
    expect(third.status).toBe(429);
    const body = (await third.json()) as { error: string; message: string };
    expect(body.error).toBe("LIMIT_EXCEEDED");
    expect(body.message).toContain("2 event streams open");
    expect(body.message).toContain("HYPERSWEEP_MAX_STREAMS");
    a.abort();
    const again = new AbortController();
    const reopened = await eventually(async () => {
      const r = await open(again.signal);
      if (r.status === 429) await r.body?.cancel();
      return r.status === 200 ? r : null;
    }, 10_000);
    expect(reopened.status).toBe(200);
    b.abort();
    again.abort();
  });
});

describe("API: request rate per team", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("ratelimit", { apiEnv: { HYPERSWEEP_RATE_LIMIT: "5" } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("answers 429 past the team's requests per minute, with a message and Retry-After; other teams are not slowed", async () => {
    for (let i = 0; i < 5; i++) expect((await s.http("GET", "/v1/sweeps")).status).toBe(200);
    const res = await fetch(`${s.url}/v1/sweeps`, { headers: { authorization: `Bearer ${s.team.apiKey}` } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("RATE_LIMITED");
    expect(body.message).toContain("5 per minute");
    expect(body.message).toContain("HYPERSWEEP_RATE_LIMIT");
    const other = await s.newTeam("rate-other");
    expect((await s.http("GET", "/v1/sweeps", undefined, other.apiKey)).status).toBe(200);
    // Health and readiness are not a team's requests.
    expect((await s.http("GET", "/healthz", undefined, null)).status).toBe(200);
  });
});
