/** Admin routes, what responses expose, and /metrics: over real HTTP against real Postgres and Redis. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startStack, type Stack } from "./helpers/stack.ts";

/** Any absolute path of two or more segments that is not an API route. */
const SERVER_PATH = /(^|[\s'"(=])\/(?!v1\/)[^\s/'"]+\/[^\s'"]+/;

describe("API: admin keys, and no server paths in answers", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("exposure");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("creates a key with no body at all, or an empty JSON body (the schema's default name)", async () => {
    const before = await s.db.apiKey.count({ where: { teamId: s.team.id, name: "default" } });
    const none = await fetch(`${s.url}/v1/admin/teams/${s.team.id}/keys`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(none.status).toBe(201);
    const empty = await fetch(`${s.url}/v1/admin/teams/${s.team.id}/keys`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" } });
    expect(empty.status).toBe(201);
    const keys = [(await none.json()) as { apiKey: string }, (await empty.json()) as { apiKey: string }];
    for (const k of keys) expect((await s.http("GET", "/v1/sweeps", undefined, k.apiKey)).status).toBe(200);
    expect(await s.db.apiKey.count({ where: { teamId: s.team.id, name: "default" } })).toBe(before + 2);
    // A body that is there is still validated.
    const bad = await s.http("POST", `/v1/admin/teams/${s.team.id}/keys`, { name: "" }, ADMIN_TOKEN);
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe("name");
  });

  it("refuses a wrong admin token of any length", async () => {
    for (const t of ["short", ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`]) {
      expect((await s.http("POST", `/v1/admin/teams/${s.team.id}/keys`, {}, t)).status).toBe(401);
    }
  });

  it("keeps server paths out of error messages", async () => {
    const form = new FormData();
    form.append("name", "broken");
    // Zip magic followed by garbage: the archive library fails naming the temporary file it was reading.
    form.append("file", new Blob([Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(2048, 7)])]), "broken.zip");
    const res = await fetch(`${s.url}/v1/datasets`, { method: "POST", headers: { authorization: `Bearer ${s.team.apiKey}` }, body: form });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).not.toContain(s.tmp);
    expect(text).not.toMatch(SERVER_PATH);
  });

  it("shows datasets without their storage path", async () => {
    const list = await s.http("GET", "/v1/datasets");
    const one = await s.http("GET", `/v1/datasets/${s.dataset.id}`);
    expect(list.status).toBe(200);
    expect(one.status).toBe(200);
    expect(one.body.versions[0].contentHash).toMatch(/^[0-9a-f]{16,}$/);
    for (const body of [list.body, one.body]) {
      const text = JSON.stringify(body);
      expect(text).not.toContain("storagePath");
      expect(text).not.toContain(s.tmp);
      expect(text).not.toMatch(SERVER_PATH);
    }
  });
});

describe("API: /metrics", () => {
  let off: Stack;
  let guarded: Stack;
  const METRICS_TOKEN = "metrics-token-0123456789";
  beforeAll(async () => {
    off = await startStack("metrics-off");
    guarded = await startStack("metrics-token", { apiEnv: { HYPERSWEEP_METRICS_TOKEN: METRICS_TOKEN } });
  });
  afterAll(async () => {
    await off?.close();
    await guarded?.close();
  });

  it("is off unless configured, saying how to turn it on", async () => {
    const r = await fetch(`${off.url}/metrics`);
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: string; message: string };
    expect(body.error).toBe("NOT_FOUND");
    expect(body.message).toContain("HYPERSWEEP_METRICS_TOKEN");
  });

  it("needs the metrics token when one is set (not a team's key, not the admin token)", async () => {
    for (const key of [null, "wrong-token-0123456789", guarded.team.apiKey, ADMIN_TOKEN]) {
      const r = await fetch(`${guarded.url}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      expect(r.status, String(key)).toBe(401);
      expect(((await r.json()) as { message: string }).message).toContain("metrics token");
    }
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/hypersweep_trials\{status="queued"\} \d+/);
  });
});
