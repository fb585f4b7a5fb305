/**
 * Worker tokens: created by an admin (shown once, stored hashed), accepted on /v1/worker/* only, refused after
 * revocation; every other kind of credential is refused there with a message, and a worker token is no team key.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashWorkerToken } from "@hypersweep/db";
import { ADMIN_TOKEN, ROOT, startStack, type Stack } from "../../../test/helpers/stack.ts";

const run = promisify(execFile);
let s: Stack;

beforeAll(async () => {
  s = await startStack("wtokens");
});
afterAll(async () => s?.close());

const create = (name: unknown) => s.http("POST", "/v1/admin/worker-tokens", name === undefined ? {} : { name }, ADMIN_TOKEN);

describe("worker tokens", () => {
  it("are created once, authenticate a worker node, show when they were last used, and stop working when revoked", async () => {
    const made = await create("gpu-node 1");
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ id: expect.any(String), name: "gpu-node 1", token: expect.stringMatching(/^hsw_[\w-]{32}$/) });
    const { id, token } = made.body as { id: string; token: string };

    // Only the hash is stored; the list never shows the token.
    const row = (await s.db.pool.query(`SELECT token_hash, last_used_at FROM worker_tokens WHERE id = $1`, [id])).rows[0];
    expect(row.token_hash).toBe(hashWorkerToken(token));
    expect(row.last_used_at).toBeNull();
    const listed = await s.http("GET", "/v1/admin/worker-tokens", undefined, ADMIN_TOKEN);
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect(JSON.stringify(listed.body)).not.toContain(row.token_hash);

    const me = await s.http("GET", "/v1/worker/me", undefined, token);
    expect(me).toEqual({ status: 200, body: { worker: { id, name: "gpu-node 1" } } });
    const used = await s.http("GET", "/v1/admin/worker-tokens", undefined, ADMIN_TOKEN);
    const entry = used.body.workerTokens.find((t: { id: string }) => t.id === id);
    expect(entry).toMatchObject({ name: "gpu-node 1", revokedAt: null });
    expect(Date.parse(entry.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);

    const revoked = await s.http("DELETE", `/v1/admin/worker-tokens/${id}`, undefined, ADMIN_TOKEN);
    expect(revoked.status).toBe(200);
    expect(revoked.body.workerToken).toMatchObject({ id, revokedAt: expect.any(String) });
    // At once in this API process, although the lookup was cached.
    const after = await s.http("GET", "/v1/worker/me", undefined, token);
    expect(after.status).toBe(401);
    expect(after.body.message).toContain("invalid or revoked worker token");
    // Revoking again keeps the first time.
    const again = await s.http("DELETE", `/v1/admin/worker-tokens/${id}`, undefined, ADMIN_TOKEN);
    expect(again.body.workerToken.revokedAt).toBe(revoked.body.workerToken.revokedAt);
  });

  it("are the only credential /v1/worker accepts, each refusal saying what to send", async () => {
    const none = await s.http("GET", "/v1/worker/me", undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/missing worker token.*hsw_/);

    const teamKey = await s.http("GET", "/v1/worker/me", undefined, s.team.apiKey);
    expect(teamKey.status).toBe(403);
    expect(teamKey.body).toMatchObject({ error: "FORBIDDEN", message: expect.stringContaining("a team API key cannot call worker routes") });

    for (const other of [ADMIN_TOKEN, "hs_00000000_notakey", "not-a-token"]) {
      const r = await s.http("GET", "/v1/worker/me", undefined, other);
      expect(r.status, other).toBe(401);
      expect(r.body.message, other).toContain("not a worker token");
    }
    const forged = await s.http("GET", "/v1/worker/me", undefined, `hsw_${"A".repeat(32)}`);
    expect(forged.status).toBe(401);
    expect(forged.body.message).toContain("invalid or revoked worker token");
  });

  it("are no team key and no admin token", async () => {
    const { token } = (await create("node-2")).body as { token: string };
    for (const path of ["/v1/sweeps", "/v1/me", "/v1/datasets"]) {
      const r = await s.http("GET", path, undefined, token);
      expect(r.status, path).toBe(401);
      expect(r.body.message, path).toContain("a worker token authenticates a worker node, not a team");
    }
    const admin = await s.http("GET", "/v1/admin/worker-tokens", undefined, token);
    expect(admin.status).toBe(401);
    expect(admin.body.message).toContain("invalid admin token");
    const noAdmin = await s.http("POST", "/v1/admin/worker-tokens", { name: "x" }, s.team.apiKey);
    expect(noAdmin.status).toBe(401);
  });

  it("refuse bad names with a 400 naming the field, and store nothing", async () => {
    const before = (await s.db.pool.query(`SELECT count(*)::int AS n FROM worker_tokens`)).rows[0].n;
    for (const name of ["bad\u0000name", "", "x".repeat(101), "a/b", "<script>", 42, null, undefined]) {
      const r = await create(name);
      expect(r.status, JSON.stringify(name)).toBe(400);
      expect([...new Set(r.body.issues.map((i: { path: string }) => i.path))], JSON.stringify(name)).toEqual(["name"]);
    }
    const extra = await s.http("POST", "/v1/admin/worker-tokens", { name: "ok", team: "radiology" }, ADMIN_TOKEN);
    expect(extra.status).toBe(400);
    expect(extra.body.issues).toEqual([{ path: "team", message: "unknown field" }]);
    expect((await s.db.pool.query(`SELECT count(*)::int AS n FROM worker_tokens`)).rows[0].n).toBe(before);

    expect((await s.http("DELETE", "/v1/admin/worker-tokens/not-a-uuid", undefined, ADMIN_TOKEN)).status).toBe(400);
    const unknown = await s.http("DELETE", "/v1/admin/worker-tokens/00000000-0000-4000-8000-000000000000", undefined, ADMIN_TOKEN);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain("worker token");
  });

  it("are made, listed and revoked with the CLI", async () => {
    const cli = async (args: string[]) => {
      const r = await run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), "admin", ...args], {
        cwd: ROOT,
        env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_ADMIN_TOKEN: ADMIN_TOKEN, NO_COLOR: "1" },
      });
      return r.stdout;
    };
    const out = await cli(["create-worker-token", "lab-box"]);
    const token = /worker token \(shown once, store it now\): (hsw_\S+)/.exec(out)?.[1];
    const id = /worker token lab-box \(([0-9a-f-]{36})\)/.exec(out)?.[1];
    expect(token).toBeDefined();
    expect((await s.http("GET", "/v1/worker/me", undefined, token!)).body.worker).toEqual({ id, name: "lab-box" });
    expect(await cli(["worker-tokens"])).toContain(id);
    expect(await cli(["revoke-worker-token", id!])).toMatch(/revoked at \d{4}-/);
    expect((await s.http("GET", "/v1/worker/me", undefined, token!)).status).toBe(401);
  }, 60_000);
});
