/**
 * Access for dashboards: read-only keys (GET everything of the team, 403 on every write), CORS only for the
 * configured origins (off by default), and the dashboard's static page under its Content-Security-Policy.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiEnv, ConfigError, parseEnv } from "@hypersweep/config";
import { buildApp } from "../src/app.ts";
import { DASHBOARD_CSP } from "../src/plugins/web.ts";
import { ADMIN_TOKEN, startStack, sweepBody, type Stack } from "../../../test/helpers/stack.ts";

let stack: Stack;
let readKey: string;
let sweepId: string;

beforeAll(async () => {
  stack = await startStack("access");
  const made = await stack.http("POST", `/v1/admin/teams/${stack.team.id}/keys`, { name: "wall", scope: "read" }, ADMIN_TOKEN);
  expect(made.status).toBe(201);
  expect(made.body.scope).toBe("read");
  readKey = made.body.apiKey;
  sweepId = (await stack.http("POST", "/v1/sweeps", sweepBody(stack.dataset.id))).body.id;
});
afterAll(async () => stack?.close());

describe("read-only keys", () => {
  it("read every GET of the team, including the event stream", async () => {
    for (const path of ["/v1/me", "/v1/sweeps", `/v1/sweeps/${sweepId}`, `/v1/sweeps/${sweepId}/trials`, `/v1/sweeps/${sweepId}/epochs`, "/v1/overview/sweeps", "/v1/datasets", `/v1/leaderboard?dataset=${stack.dataset.id}`, "/v1/workers"]) {
      const r = await stack.http("GET", path, undefined, readKey);
      expect(r.status, path).toBe(200);
    }
    expect((await stack.http("GET", "/v1/me", undefined, readKey)).body).toEqual({ team: { id: stack.team.id, name: "team-access" }, scope: "read" });
    const ac = new AbortController();
    const sse = await fetch(`${stack.url}/v1/sweeps/${sweepId}/events`, { headers: { authorization: `Bearer ${readKey}` }, signal: ac.signal });
    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const first = await sse.body!.getReader().read();
    expect(new TextDecoder().decode(first.value)).toContain("event: snapshot");
    ac.abort();
  });

  it("get 403 with a message on every write, and change nothing", async () => {
    const writes: Array<[string, string, unknown]> = [
      ["POST", "/v1/sweeps", sweepBody(stack.dataset.id)],
      ["POST", `/v1/sweeps/${sweepId}/cancel`, {}],
      ["POST", `/v1/sweeps/${sweepId}/final`, {}],
      ["POST", "/v1/datasets", {}],
    ];
    for (const [method, path, body] of writes) {
      const r = await stack.http(method, path, body, readKey);
      expect(r.status, path).toBe(403);
      expect(r.body).toMatchObject({ error: "FORBIDDEN", message: expect.stringMatching(/read-only.*write scope/) });
    }
    expect((await stack.http("GET", `/v1/sweeps/${sweepId}`)).body.status).toBe("queued");
    expect((await stack.http("GET", "/v1/sweeps")).body.sweeps).toHaveLength(1);
  });

  it("write keys stay writers (the default scope), and a bad scope is a 400 naming the field", async () => {
    const made = await stack.http("POST", `/v1/admin/teams/${stack.team.id}/keys`, { name: "ci" }, ADMIN_TOKEN);
    expect(made.body.scope).toBe("write");
    expect((await stack.http("GET", "/v1/me", undefined, made.body.apiKey)).body.scope).toBe("write");
    expect((await stack.http("POST", `/v1/sweeps/${sweepId}/cancel`, {}, made.body.apiKey)).status).toBe(200);
    const bad = await stack.http("POST", `/v1/admin/teams/${stack.team.id}/keys`, { scope: "admin" }, ADMIN_TOKEN);
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe("scope");
  });
});

describe("CORS and the dashboard page", () => {
  async function appWith(env: Record<string, string>) {
    const config = parseEnv(apiEnv, { DATABASE_URL: stack.tdb.url, HYPERSWEEP_QUEUE_PREFIX: stack.prefix, ...env });
    return buildApp({ db: stack.db, queue: stack.queue, config }, { logger: false });
  }
  const preflight = { method: "OPTIONS" as const, url: "/v1/sweeps", headers: { origin: "https://wall.example.org", "access-control-request-method": "GET", "access-control-request-headers": "authorization" } };

  it("is off by default: no origin is allowed", async () => {
    const app = await appWith({});
    const r = await app.inject(preflight);
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    await app.close();
  });

  it("allows exactly the configured origins", async () => {
    const app = await appWith({ HYPERSWEEP_CORS_ORIGINS: "https://wall.example.org, http://localhost:5173" });
    const ok = await app.inject(preflight);
    expect(ok.headers["access-control-allow-origin"]).toBe("https://wall.example.org");
    expect(String(ok.headers["access-control-allow-headers"])).toContain("authorization");
    const other = await app.inject({ ...preflight, headers: { ...preflight.headers, origin: "https://evil.example.com" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    await app.close();
    expect(() => parseEnv(apiEnv, { HYPERSWEEP_CORS_ORIGINS: "https://x.org/path" })).toThrow(ConfigError);
  });

  it("serves the built page at / with a strict CSP, keeps /v1 for the API, and says so when it is not built", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hs-dist-"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>t</title>");
    const app = await appWith({ HYPERSWEEP_DASHBOARD_DIR: dir });
    const page = await app.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toMatch(/script-src 'self';/);
    expect(DASHBOARD_CSP).not.toMatch(/unsafe/);
    expect((await app.inject({ method: "GET", url: "/v1/nothing", headers: { authorization: `Bearer ${stack.team.apiKey}` } })).json()).toMatchObject({ error: "NOT_FOUND" });
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    await app.close();
    const unbuilt = await appWith({ HYPERSWEEP_DASHBOARD_DIR: join(dir, "missing") });
    const r = await unbuilt.inject({ method: "GET", url: "/" });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain("npm run build:dashboard");
    await unbuilt.close();
  });
});
