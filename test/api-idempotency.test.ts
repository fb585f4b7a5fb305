/**
 * A sweep submission sent again (its answer lost, a timeout, a 503) creates one sweep: POST /v1/sweeps takes an
 * Idempotency-Key, and the CLI sends one and sends the same submission again while the API does not answer.
 * Real API, Postgres and Redis; real CLI processes through a proxy that cuts an answer.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpProxy } from "./helpers/http-proxy.ts";
import { ROOT, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

const run = promisify(execFile);
let s: Stack;
beforeAll(async () => {
  s = await startStack("idem", { apiEnv: { HYPERSWEEP_MAX_QUEUED_TRIALS: "60" } });
});
afterAll(async () => s?.close());

const submit = (body: unknown, key?: string, apiKey = s.team.apiKey) =>
  fetch(`${s.url}/v1/sweeps`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}`, ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });
const sweepsWithKey = (key: string) => s.db.sweep.count({ where: { idempotencyKey: key } });

describe("POST /v1/sweeps with an Idempotency-Key", () => {
  it("creates once: a repeat answers 200 with the same sweep and stores nothing; another request under the key is 409", async () => {
    const body = sweepBody(s.dataset.id, { seed: 101 });
    const first = await submit(body, "key-one-0001");
    expect(first.status).toBe(201);
    const created = await first.json();
    const trials = await s.db.trial.count();
    // The same request, its keys in another order: the same submission.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await submit(reordered, "key-one-0001");
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const replayed = await again.json();
    expect([replayed.id, replayed.trialCount, replayed.planHash]).toEqual([created.id, 20, created.planHash]);
    expect(replayed.trials.map((t: { id: string }) => t.id)).toEqual(created.trials.map((t: { id: string }) => t.id));
    expect([await sweepsWithKey("key-one-0001"), await s.db.trial.count()]).toEqual([1, trials]);
    // Another request under the same key is refused, naming the key and the sweep it made; nothing is stored.
    const other = await submit(sweepBody(s.dataset.id, { seed: 102 }), "key-one-0001");
    expect(other.status).toBe(409);
    expect((await other.json()).message).toBe(`Idempotency-Key key-one-0001 was sent before with another request (sweep ${created.id}): use a new key for a new sweep`);
    expect(await s.db.trial.count()).toBe(trials);
    // Keys are the team's own: another team's same key is its own submission.
    const team = await s.newTeam("idem-other");
    const ds = await s.addDataset(team.id, "stock");
    expect((await submit(sweepBody(ds.id, { seed: 101 }), "key-one-0001", team.apiKey)).status).toBe(201);
    await s.http("POST", `/v1/sweeps/${created.id}/cancel`);
  });

  it("many copies at once store one sweep; a repeat at the waiting quota is answered, not refused; a bad key is 400 naming the header", async () => {
    const body = sweepBody(s.dataset.id, { seed: 103 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => submit(body, "key-burst-0001")));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(await Promise.all(answers.map(async (a) => (await a.json()).id))).size).toBe(1);
    expect(await sweepsWithKey("key-burst-0001")).toBe(1);
    // Two more sweeps' worth would pass the quota of 60 queued trials: a new submission is refused, the repeat is not.
    const second = await submit(sweepBody(s.dataset.id, { seed: 104 }), "key-burst-0002");
    expect(second.status).toBe(201);
    expect((await submit(sweepBody(s.dataset.id, { seed: 105 }), "key-burst-0003")).status).toBe(201);
    expect((await submit(sweepBody(s.dataset.id, { seed: 106 }), "key-burst-0004")).status).toBe(429);
    expect((await submit(sweepBody(s.dataset.id, { seed: 104 }), "key-burst-0002")).status).toBe(200);
    for (const bad of ["short", "has space here", "x".repeat(201)]) {
      const r = await submit(body, bad);
      const answer = await r.json();
      expect([r.status, answer.issues?.[0]?.path]).toEqual([400, "headers.idempotency-key"]);
    }
    for (const sw of await s.db.sweep.findMany({ where: { status: "queued" } })) await s.http("POST", `/v1/sweeps/${sw.id}/cancel`);
  });

  it("the CLI sends one: an answer cut off on the way is sent again and makes one sweep", async () => {
    const proxy = await startHttpProxy(s.url);
    proxy.tamperNext(/^\/v1\/sweeps$/, { cutAfter: 0 });
    const before = await s.db.sweep.count();
    const r = await run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), "submit", "--dataset", "stock", "--arch", "small_cnn", "--epochs", "2", "--seed", "107"], {
      cwd: ROOT,
      env: { ...process.env, HYPERSWEEP_URL: proxy.url, HYPERSWEEP_API_KEY: s.team.apiKey },
    });
    expect(r.stderr).toContain("sending the same submission again (2 of 5)");
    const id = /sweep ([0-9a-f-]{36}): 20 trials/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    // The server stored it on the first copy; the second was answered with it.
    expect(proxy.seen.filter((x) => x.method === "POST" && x.path === "/v1/sweeps").map((x) => x.status)).toEqual([201, 200]);
    expect(await s.db.sweep.count()).toBe(before + 1);
    expect((await s.db.sweep.findUniqueOrThrow({ where: { id } })).idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    await proxy.close();
  });
});
