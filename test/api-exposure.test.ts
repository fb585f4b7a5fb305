/** Admin routes, what responses expose, and /metrics: over real HTTP against real Postgres and Redis. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startStack, type Stack } from "./helpers/stack.ts";

describe("API: admin keys", () => {
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
});
