/**
 * Fair share between teams, end to end: real API, real workers running the fixture trainer as child processes,
 * real Postgres and Redis. A late team is served as soon as a slot frees; weights share the slots; running and
 * waiting quotas hold under concurrent submits; a sweep's priority orders its team's work; and after Redis is
 * emptied everything still finishes exactly once, in fair order.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { ADMIN_TOKEN, eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";
import { startPrivateRedis } from "./helpers/tcp-proxy.ts";

const LRS = [1e-1, 5e-2, 1e-2, 5e-3, 1e-3, 5e-4, 1e-4, 5e-5, 1e-5, 5e-6];
/** A sweep of `n` one-epoch trials (n ≤ 200, a multiple of 20 or under 20). */
const trials = (datasetId: string, n: number, extra: Record<string, unknown> = {}) =>
  sweepBody(datasetId, {
    overrides: n < 20 ? { searchEpochs: 1, imageSize: 16, learningRates: [1e-3], subsetsPerRate: n } : { searchEpochs: 1, imageSize: 16, learningRates: LRS.slice(0, n / 20), subsetsPerRate: 20 },
    ...extra,
  });

interface Team { id: string; apiKey: string; datasetId: string }

async function addTeam(s: Stack, name: string): Promise<Team> {
  const t = await s.newTeam(name);
  const ds = await s.addDataset(t.id, `${name}-stock`);
  return { ...t, datasetId: ds.id };
}

async function submit(s: Stack, team: Team, n: number, extra: Record<string, unknown> = {}) {
  const res = await s.http("POST", "/v1/sweeps", trials(team.datasetId, n, extra), team.apiKey);
  expect(res.status).toBe(201);
  return res.body as { id: string; createdAt: string; trialCount: number };
}

const admin = (s: Stack, teamId: string, body: unknown) => s.http("PATCH", `/v1/admin/teams/${teamId}`, body, ADMIN_TOKEN);

const succeeded = (s: Stack, teamId: string) => s.db.trial.count({ where: { teamId, status: "succeeded" } });

async function sweepDone(s: Stack, team: Team, id: string, ms = 90_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/sweeps/${id}`, undefined, team.apiKey);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms, 50);
}

/** The largest number of a team's attempts that were open at the same instant. */
async function maxConcurrent(s: Stack, teamId: string): Promise<number> {
  const attempts = await s.db.attempt.findMany({ where: { trial: { teamId } }, select: { startedAt: true, finishedAt: true } });
  const edges = attempts.flatMap((a) => [[a.startedAt.getTime(), 1], [(a.finishedAt ?? new Date(8.64e15)).getTime(), -1]] as const);
  // At equal instants an end comes before a start: the slot was freed in the same commit that recorded the end.
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (open += d));
  return max;
}

/** Trials of sweep `of` that finished while sweep `during` ran (from its commit to its end, Postgres's clock). */
async function aFinishedDuring(s: Stack, of: string, during: string): Promise<number> {
  const [r] = await s.db.$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM trials t, sweeps b
    WHERE b.id = ${during}::uuid AND t.sweep_id = ${of}::uuid AND t.status = 'succeeded' AND t.finished_at > b.created_at AND t.finished_at <= b.finished_at`;
  return r!.n;
}

async function expectExactlyOnce(s: Stack, sweepId: string) {
  const ts = await s.db.trial.findMany({ where: { sweepId }, include: { attempts: true, epochs: true } });
  for (const t of ts) {
    expect(t.status).toBe("succeeded");
    expect(t.attempts.filter((a) => a.status === "succeeded")).toHaveLength(1);
    expect(t.epochs.map((e) => e.epoch)).toEqual([1]);
  }
  return ts.length;
}

const SLOTS = 4;

describe("fair share between teams", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("fair");
  });
  afterEach(async () => {
    await s?.stopWorkers();
    await s.db.trial.updateMany({ where: { status: { in: ["queued", "running"] } }, data: { status: "cancelled" } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("team B's 10 trials start as soon as a slot frees while team A has 200 waiting, and finish before A has done 10 + slots more", async () => {
    const a = await addTeam(s, "alpha");
    const b = await addTeam(s, "bravo");
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: String(SLOTS), FAKE_EPOCH_MS: "150" });
    const big = await submit(s, a, 200);
    await eventually(async () => (await succeeded(s, a.id)) >= SLOTS, 60_000, 50);
    const late = await submit(s, b, 10);
    // B's trials are visible to every claim from here (its submit has answered, so it has committed).
    const visibleAt = new Date();
    const done = await sweepDone(s, b, late.id);
    expect(done.status).toBe("succeeded");
    expect(done.counts.succeeded).toBe(10);
    // While B's sweep ran (Postgres's clock: its commit to its end), A finished about as many as B (they share the
    // slots half and half), plus the trials A was running when B came: about 10 + slots; FIFO would be none.
    const aDuringB = await aFinishedDuring(s, big.id, late.id);
    expect(aDuringB).toBeLessThanOrEqual(10 + SLOTS + 2);

    // B's first trial took the first slot that freed once B's sweep was visible: no trial of A started in between
    // (one claim may have been under way then). Claims made while B's submit was still committing could not see it.
    const bFirst = await s.db.attempt.findFirstOrThrow({ where: { trial: { sweepId: late.id } }, orderBy: { startedAt: "asc" } });
    const aBetween = await s.db.attempt.count({ where: { trial: { sweepId: big.id }, startedAt: { gte: visibleAt, lt: bFirst.startedAt } } });
    expect(aBetween).toBeLessThanOrEqual(1);
    // A's own order is its plan's: the trials started are exactly the first ones of the plan, each started within
    // the claims in flight at once of its turn (concurrent claims skip each other's locked rows, so two slots
    // claiming together may stamp neighbours in either order).
    const aStarted = await s.db.trial.findMany({ where: { sweepId: big.id, startedAt: { not: null } }, orderBy: { startedAt: "asc" }, select: { position: true } });
    const positions = aStarted.map((t) => t.position);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions.map((_, i) => i));
    for (const [i, p] of positions.entries()) expect(Math.abs(p - i), `trial ${p} started ${i}th`).toBeLessThan(SLOTS);
  }, 120_000);

  it("a worker that reaches the truth through the API (no DATABASE_URL) claims in the same fair order", async () => {
    const a = await addTeam(s, "api-alpha");
    const b = await addTeam(s, "api-bravo");
    await s.startWorker({ ...(await s.viaApi()), HYPERSWEEP_CONCURRENCY: "2", FAKE_EPOCH_MS: "150" });
    const big = await submit(s, a, 40);
    await eventually(async () => (await succeeded(s, a.id)) >= 2, 60_000, 50);
    const late = await submit(s, b, 4);
    const visibleAt = new Date();
    expect((await sweepDone(s, b, late.id)).status).toBe("succeeded");
    const bFirst = await s.db.attempt.findFirstOrThrow({ where: { trial: { sweepId: late.id } }, orderBy: { startedAt: "asc" } });
    expect(await s.db.attempt.count({ where: { trial: { sweepId: big.id }, startedAt: { gte: visibleAt, lt: bFirst.startedAt } } })).toBeLessThanOrEqual(1);
    expect(await aFinishedDuring(s, big.id, late.id)).toBeLessThanOrEqual(4 + 2 + 2);
    expect(await expectExactlyOnce(s, late.id)).toBe(4);
  }, 120_000);

  it("weights 2:1 give the heavier team about twice the starts while both wait", async () => {
    const heavy = await addTeam(s, "heavy");
    const light = await addTeam(s, "light");
    expect((await admin(s, heavy.id, { weight: 2 })).body.team.weight).toBe(2);
    await submit(s, heavy, 80);
    await submit(s, light, 80);
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "6", FAKE_EPOCH_MS: "300" });
    // Before either has run out of waiting trials (80 each; 2:1 would be 40 and 20 of the first 60), count who started what.
    const both = { trial: { teamId: { in: [heavy.id, light.id] } } };
    await eventually(async () => (await s.db.attempt.count({ where: both })) >= 60, 90_000, 50);
    const first = await s.db.attempt.findMany({ where: both, orderBy: { startedAt: "asc" }, take: 60, include: { trial: { select: { teamId: true } } } });
    const h = first.filter((x) => x.trial.teamId === heavy.id).length;
    const l = first.filter((x) => x.trial.teamId === light.id).length;
    expect(h + l).toBe(60);
    // Equal shares (or first come, first served) would give 1 or far more; trial lengths vary on a busy machine.
    expect(h / l).toBeGreaterThan(1.4);
    expect(h / l).toBeLessThan(2.8);
  }, 120_000);

  it("a running quota of 2 is never exceeded under 8 slots and concurrent submits, and holds no other team back; the waiting quota answers 429", async () => {
    const capped = await addTeam(s, "capped");
    const free = await addTeam(s, "free");
    const set = await admin(s, capped.id, { maxRunning: 2 });
    expect(set.status).toBe(200);
    expect(set.body.team).toMatchObject({ maxRunning: 2, maxWaiting: null, weight: 1 });
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "8", FAKE_EPOCH_MS: "200" });
    const sweeps = await Promise.all([submit(s, capped, 8), submit(s, capped, 8), submit(s, capped, 8), submit(s, free, 12)]);
    // While it runs, the team sees its own counts and quotas.
    const seen = await eventually(async () => {
      const me = await s.http("GET", "/v1/teams/me", undefined, capped.apiKey);
      return me.body.running === 2 ? me.body : null;
    }, 30_000, 20);
    expect(seen).toMatchObject({ team: { id: capped.id, name: "capped" }, weight: 1, quotas: { maxRunning: 2, maxWaiting: 2000, maxWaitingFrom: "HYPERSWEEP_MAX_QUEUED_TRIALS" } });
    expect(seen.waiting).toBeGreaterThan(0);
    for (const sw of sweeps) expect((await sweepDone(s, sw.id === sweeps[3]!.id ? free : capped, sw.id)).status).toBe("succeeded");
    expect(await maxConcurrent(s, capped.id)).toBe(2);
    expect(await maxConcurrent(s, free.id)).toBeGreaterThanOrEqual(4);

    // The waiting quota (with no worker, so that nothing leaves the waiting line): 429 naming it and the count.
    await s.stopWorkers();
    expect((await admin(s, capped.id, { maxWaiting: 5 })).body.team.maxWaiting).toBe(5);
    const over = await s.http("POST", "/v1/sweeps", trials(capped.datasetId, 6), capped.apiKey);
    expect(over.status).toBe(429);
    expect(over.body.error).toBe("LIMIT_EXCEEDED");
    expect(over.body.message).toContain("the team has 0 queued trial(s) and this sweep adds 6: over the team's waiting quota (maxWaiting) of 5");
    await submit(s, capped, 5);
    const full = await s.http("POST", "/v1/sweeps", trials(capped.datasetId, 1), capped.apiKey);
    expect(full.status).toBe(429);
    expect(full.body.message).toContain("the team has 5 queued trial(s) and this sweep adds 1");
    expect((await s.http("GET", "/v1/teams/me", undefined, capped.apiKey)).body).toMatchObject({ running: 0, waiting: 5, quotas: { maxWaiting: 5, maxWaitingFrom: "team" } });
    // GET /v1/me still answers as before.
    expect((await s.http("GET", "/v1/me", undefined, capped.apiKey)).body).toEqual({ team: { id: capped.id, name: "capped" }, scope: "write" });
    // A team without its own waiting quota shows the server-wide one.
    expect((await s.http("GET", "/v1/teams/me", undefined, free.apiKey)).body.quotas).toEqual({ maxRunning: null, maxWaiting: 2000, maxWaitingFrom: "HYPERSWEEP_MAX_QUEUED_TRIALS" });
  }, 120_000);

  it("tokens that find every waiting trial held back by a quota wait out a back-off instead of polling, and a trial's end wakes one", async () => {
    const t = await addTeam(s, "one-at-a-time");
    await admin(s, t.id, { maxRunning: 1 });
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "3", FAKE_EPOCH_MS: "1500" });
    const sw = await submit(s, t, 5);
    // While the first trial runs, the other tokens are parked (delayed), each having looked only a few times.
    await new Promise((r) => setTimeout(r, 3000));
    const parked = await s.queue.getDelayed();
    expect(parked.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...parked.map((j) => j.data.waits ?? 0))).toBeLessThanOrEqual(6);
    await sweepDone(s, t, sw.id);
    // Each next trial started soon after the one before it ended (woken, not at the end of a back-off of seconds).
    const ts = await s.db.trial.findMany({ where: { sweepId: sw.id }, orderBy: { startedAt: "asc" }, select: { startedAt: true, finishedAt: true } });
    expect(await maxConcurrent(s, t.id)).toBe(1);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!.startedAt!.getTime() - ts[i - 1]!.finishedAt!.getTime()).toBeLessThan(1000);
  }, 90_000);

  it("a sweep's priority, set at submit or changed while it waits, orders its team's work", async () => {
    const t = await addTeam(s, "prio");
    const first = await submit(s, t, 3);
    const urgent = await submit(s, t, 2, { priority: 5 });
    const later = await submit(s, t, 2);
    const patched = await s.http("PATCH", `/v1/sweeps/${later.id}`, { priority: 9 }, t.apiKey);
    expect(patched.status).toBe(200);
    expect(patched.body.priority).toBe(9);
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "1", FAKE_EPOCH_MS: "20" });
    for (const sw of [first, urgent, later]) await sweepDone(s, t, sw.id);
    const order = await s.db.trial.findMany({ where: { teamId: t.id }, orderBy: { startedAt: "asc" }, select: { sweepId: true } });
    expect(order.map((o) => o.sweepId)).toEqual([later.id, later.id, urgent.id, urgent.id, first.id, first.id, first.id]);
    const finished = await s.http("PATCH", `/v1/sweeps/${first.id}`, { priority: 1 }, t.apiKey);
    expect(finished.status).toBe(409);
    const bad = await s.http("PATCH", `/v1/sweeps/${first.id}`, { priority: 1.5 }, t.apiKey);
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe("priority");
  }, 90_000);

  it("admin settings are checked: unknown fields, bad weights and unknown teams are refused", async () => {
    const t = await addTeam(s, "checked");
    expect((await admin(s, t.id, { weight: 0 })).status).toBe(400);
    expect((await admin(s, t.id, { weight: 1, maxRunnin: 2 })).body.issues[0]).toMatchObject({ path: "maxRunnin" });
    expect((await admin(s, t.id, {})).status).toBe(400);
    expect((await admin(s, "00000000-0000-4000-8000-000000000000", { weight: 2 })).status).toBe(404);
    expect((await s.http("PATCH", `/v1/admin/teams/${t.id}`, { weight: 2 }, t.apiKey)).status).toBe(401);
    const cleared = await admin(s, t.id, { maxRunning: 3, maxWaiting: null });
    expect(cleared.body.team).toMatchObject({ maxRunning: 3, maxWaiting: null });
  });
});

describe("fair share after Redis is emptied", () => {
  let s: Stack;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    s = await startStack("fairflush", { redisUrl: redis.url });
  });
  afterAll(async () => {
    await s?.close();
    await redis?.stop();
  });

  it("FLUSHALL mid-run: every trial still finishes exactly once, and the late team is still served first", async () => {
    const a = await addTeam(s, "alpha");
    const b = await addTeam(s, "bravo");
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: String(SLOTS), FAKE_EPOCH_MS: "150" });
    const big = await submit(s, a, 60);
    await eventually(async () => (await succeeded(s, a.id)) >= SLOTS, 60_000, 50);
    const late = await submit(s, b, 10);
    const client = new Redis(redis.url);
    await client.flushall();
    expect(await client.dbsize()).toBe(0);
    await client.quit();
    await sweepDone(s, b, late.id);
    // The queue was rebuilt from Postgres (the reconciler, 1 s here; A's running trials end meanwhile): B still
    // shares the slots half and half, so A finished about 10 + slots (plus a slot's worth for the gap), not its 50.
    expect(await aFinishedDuring(s, big.id, late.id)).toBeLessThanOrEqual(10 + 2 * SLOTS);
    await sweepDone(s, a, big.id);
    expect(await expectExactlyOnce(s, big.id)).toBe(60);
    expect(await expectExactlyOnce(s, late.id)).toBe(10);
  }, 150_000);
});
