/** Bad input, authentication and team isolation, over real HTTP against real Postgres and Redis. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

describe("API: bad input, auth and team isolation", () => {
  let s: Stack;
  let other: { id: string; apiKey: string };
  let sweepId: string;
  beforeAll(async () => {
    s = await startStack("input", { apiEnv: { HYPERSWEEP_BODY_LIMIT: "4096", HYPERSWEEP_METRICS_PUBLIC: "true" } });
    other = await s.newTeam("other-team");
    const r = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id));
    sweepId = r.body.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it("answers 401 without a key or with a wrong one", async () => {
    expect((await s.http("GET", "/v1/sweeps", undefined, null)).status).toBe(401);
    const wrong = await s.http("GET", "/v1/sweeps", undefined, "hs_nope_nope");
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toMatch(/invalid API key/);
  });

  it("reports every bad field at once, with its path", async () => {
    const r = await s.http("POST", "/v1/sweeps", { dataset: s.dataset.id, scenario: { modality: "mri", task: "binary" }, architectures: [], seed: -1, colour: "blue" });
    expect(r.status).toBe(400);
    const paths = r.body.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(["architectures", "colour", "scenario.modality", "seed"].sort());
    expect(r.body.issues.find((i: { path: string }) => i.path === "colour").message).toBe("unknown field");
  });

  it("names an unknown architecture and an unknown dataset", async () => {
    const arch = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { architectures: ["resnet18", "vgg16"] }));
    expect(arch.status).toBe(400);
    expect(arch.body.issues[0].path).toBe("architectures.1");
    const ds = await s.http("POST", "/v1/sweeps", sweepBody("no-such-dataset"));
    expect(ds.status).toBe(400);
    expect(ds.body.message).toContain("unknown dataset 'no-such-dataset'");
    expect(ds.body.issues[0].path).toBe("dataset");
  });

  it("rejects an out-of-range override and asking for more subsets than exist, saying why", async () => {
    const lr = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { learningRates: [-1] } }));
    expect(lr.status).toBe(400);
    expect(lr.body.issues[0].path).toMatch(/^overrides\.learningRates/);
    const many = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { subsetsPerRate: 33 } }));
    expect(many.status).toBe(400);
    expect(many.body.message).toMatch(/32/);
  });

  it("answers 400 for malformed JSON and 413 for a body over the limit", async () => {
    expect((await s.http("POST", "/v1/sweeps", "{not json")).status).toBe(400);
    const big = await s.http("POST", "/v1/sweeps", { ...sweepBody(s.dataset.id), name: "x".repeat(5000) });
    expect(big.status).toBe(413);
  });

  it("keeps nothing from a rejected sweep", async () => {
    const before = await s.db.sweep.count();
    await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { subsetsPerRate: 40 } }));
    expect(await s.db.sweep.count()).toBe(before);
  });

  it("hides another team's sweeps, trials and datasets as if they did not exist", async () => {
    const trial = await s.db.trial.findFirstOrThrow({ where: { sweepId } });
    expect((await s.http("GET", `/v1/sweeps/${sweepId}`, undefined, other.apiKey)).status).toBe(404);
    expect((await s.http("GET", `/v1/sweeps/${sweepId}/trials`, undefined, other.apiKey)).status).toBe(404);
    expect((await s.http("GET", `/v1/trials/${trial.id}`, undefined, other.apiKey)).status).toBe(404);
    expect((await s.http("POST", `/v1/sweeps/${sweepId}/cancel`, undefined, other.apiKey)).status).toBe(404);
    expect((await s.http("GET", "/v1/sweeps", undefined, other.apiKey)).body.sweeps).toEqual([]);
    const ds = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id), other.apiKey);
    expect(ds.status).toBe(400);
    expect(ds.body.issues[0].path).toBe("dataset");
    expect((await s.http("GET", `/v1/sweeps/not-a-uuid`)).status).toBe(404);
    // and the owner still sees it, untouched
    expect((await s.http("GET", `/v1/sweeps/${sweepId}`)).body.status).toBe("queued");
  });

  it("creates teams with the admin token only, and shows the key once", async () => {
    expect((await s.http("POST", "/v1/admin/teams", { name: "x" }, s.team.apiKey)).status).toBe(401);
    const r = await s.http("POST", "/v1/admin/teams", { name: "cardiology" }, ADMIN_TOKEN);
    expect(r.status).toBe(201);
    expect(r.body.apiKey).toMatch(/^hs_/);
    const stored = await s.db.apiKey.findMany({ where: { teamId: r.body.team.id } });
    expect(stored[0].hash).not.toContain(r.body.apiKey);
    expect((await s.http("GET", "/v1/sweeps", undefined, r.body.apiKey)).status).toBe(200);
    expect((await s.http("POST", "/v1/admin/teams", { name: "cardiology" }, ADMIN_TOKEN)).status).toBe(409);
  });

  it("serves health, readiness, OpenAPI and Prometheus metrics", async () => {
    expect((await s.http("GET", "/healthz", undefined, null)).body).toEqual({ ok: true });
    const ready = await s.http("GET", "/readyz", undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.body.postgres.ok && ready.body.redis.ok).toBe(true);
    const spec = await s.http("GET", "/openapi.json", undefined, null);
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toContain("/v1/sweeps");
    const metrics = await fetch(`${s.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/hypersweep_trials\{status="queued"\} \d+/);
    expect(metrics).toContain("hypersweep_http_request_duration_seconds_bucket");
  });
});
