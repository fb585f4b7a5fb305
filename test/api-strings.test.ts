/** Strings and names: NUL bytes, preset names and malformed ids are bad fields (4xx naming them), never a 500. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

describe("API: strings, presets and ids", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("strings");
  });
  afterAll(async () => {
    await s?.close();
  });

  const issuePaths = (body: { issues?: Array<{ path: string }> }) => (body.issues ?? []).map((i) => i.path);

  it("refuses a NUL in a sweep's name or dataset with 400 naming the field, and stores nothing", async () => {
    const before = await s.db.sweep.count();
    const name = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { name: "a\u0000b" }));
    expect(name.status).toBe(400);
    expect(issuePaths(name.body)).toEqual(["name"]);
    expect(name.body.message).toMatch(/NUL/);
    const dataset = await s.http("POST", "/v1/sweeps", sweepBody("stock\u0000"));
    expect(dataset.status).toBe(400);
    expect(issuePaths(dataset.body)).toEqual(["dataset"]);
    const preset = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { preset: "\u0000" }));
    expect(preset.status).toBe(400);
    expect(issuePaths(preset.body)).toEqual(["preset"]);
    expect(await s.db.sweep.count()).toBe(before);
  });

  it("refuses a NUL in query strings and path parameters with 400 naming the parameter", async () => {
    const best = await s.http("GET", "/v1/best?dataset=%00x&scenario=ct/binary&architecture=small_cnn");
    expect(best.status).toBe(400);
    expect(issuePaths(best.body)).toEqual(["querystring.dataset"]);
    const board = await s.http("GET", "/v1/leaderboard?dataset=a%00b");
    expect(board.status).toBe(400);
    expect(issuePaths(board.body)).toEqual(["querystring.dataset"]);
    const ds = await s.http("GET", "/v1/datasets/a%00b");
    expect(ds.status).toBe(400);
    expect(issuePaths(ds.body)).toEqual(["params.id"]);
    const scenario = await s.http("GET", "/v1/datasets/a%00b/scenario?modality=ct&task=binary");
    expect(scenario.status).toBe(400);
    for (const path of ["/v1/sweeps/%00", "/v1/sweeps/a%00b/trials", "/v1/trials/%00"]) {
      const r = await s.http("GET", path);
      expect(r.status, path).toBe(400);
      expect(issuePaths(r.body), path).toEqual(["params.id"]);
    }
    const key = await s.http("POST", `/v1/admin/teams/${s.team.id}/keys`, { name: "ci\u0000" }, ADMIN_TOKEN);
    expect(key.status).toBe(400);
    expect(issuePaths(key.body)).toEqual(["name"]);
  });

  it("answers malformed ids with 404 (or 400 for the admin's UUID parameter) on every route, never 500", async () => {
    const odd = ["not-a-uuid", "..%2F..%2Fetc", "%E2%80%8B", "00000000-0000-0000-0000-00000000000g", "'%20OR%201=1--"];
    for (const id of odd) {
      for (const [method, path] of [
        ["GET", `/v1/sweeps/${id}`], ["GET", `/v1/sweeps/${id}/trials`], ["POST", `/v1/sweeps/${id}/cancel`], ["POST", `/v1/sweeps/${id}/final`],
        ["GET", `/v1/sweeps/${id}/events`], ["GET", `/v1/trials/${id}`], ["GET", `/v1/datasets/${id}`], ["GET", `/v1/datasets/${id}/scenario?modality=ct&task=binary`],
      ] as const) {
        const r = await s.http(method, path);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body.error, `${method} ${path}`).toBe("NOT_FOUND");
      }
      const admin = await s.http("POST", `/v1/admin/teams/${id}/keys`, {}, ADMIN_TOKEN);
      expect(admin.status, id).toBe(400);
      expect(issuePaths(admin.body)).toEqual(["params.id"]);
    }
    const version = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { datasetVersion: "nope" }));
    expect(version.status).toBe(400);
    expect(issuePaths(version.body)).toEqual(["datasetVersion"]);
  });

  it("looks presets up by their own name only: inherited names are unknown presets, listed with the known ones", async () => {
    for (const preset of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      const r = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { preset }));
      expect(r.status, preset).toBe(400);
      expect(r.body.error).toBe("SPEC_INVALID");
      expect(issuePaths(r.body)).toEqual(["preset"]);
      expect(r.body.message).toContain(`unknown preset '${preset}'`);
      expect(r.body.message).toContain("known: data-stock-2020");
    }
    const ok = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { preset: "data-stock-2020" }));
    expect(ok.status).toBe(201);
  });
});
