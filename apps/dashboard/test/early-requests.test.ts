/**
 * Opening a sweep's address in a new tab with a stored key: public/early.js starts the session, sweep, trials and
 * epochs requests before the bundle has loaded, and the page uses those answers: each is asked for exactly once,
 * and the grid and charts show the API's data. Answers started with a key that is not the one signed in with are
 * never used. Real headless Chromium, real API and Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDashboardBuilt } from "../src/index.ts";
import { startStack, sweepBody, type Stack } from "../../../test/helpers/stack.ts";
import { launch, openPage, waitForCharts, type Browsing } from "./browser.ts";

let stack: Stack;
let browsing: Browsing;
let sweepId: string;

beforeAll(async () => {
  await ensureDashboardBuilt();
  stack = await startStack("early");
  browsing = await launch();
  const res = await stack.http("POST", "/v1/sweeps", sweepBody(stack.dataset.id, { architectures: ["small_cnn", "resnet18"] }));
  expect(res.status).toBe(201);
  sweepId = res.body.id;
}, 60_000);

afterAll(async () => {
  await browsing?.close();
  await stack?.close();
});

/** A new tab with `key` stored, opened at the sweep's address; every /v1 request it makes, in order. */
async function openSweep(key: string) {
  const p = await openPage(browsing);
  await p.context.addInitScript((k) => sessionStorage.setItem("hypersweep.apiKey", k), key);
  const asked: Array<{ path: string; key: string | undefined }> = [];
  const events: string[] = [];
  const v1 = (url: string) => (new URL(url).pathname.startsWith("/v1/") ? new URL(url).pathname.replace(sweepId, ":id") : null);
  p.page.on("request", (r) => {
    const path = v1(r.url());
    if (path) asked.push({ path, key: r.headers().authorization }), events.push(`asked ${path}`);
  });
  p.page.on("response", (r) => {
    const path = v1(r.url());
    if (path) events.push(`answered ${path}`);
  });
  await p.page.goto(`${stack.url}/#/sweeps/${sweepId}`);
  return { ...p, asked, events };
}

describe("a sweep page's first requests", () => {
  it("start before the bundle and are each made once; the page shows their answers", async () => {
    const p = await openSweep(stack.team.apiKey);
    await p.page.waitForSelector("table[data-table=trials] tbody tr[data-trial]");
    await waitForCharts(p.page);
    const trials = (await stack.http("GET", `/v1/sweeps/${sweepId}/trials`)).body.trials as Array<{ id: string }>;
    expect(await p.page.getAttribute("table[data-table=trials]", "data-rows")).toBe(String(trials.length));
    const paths = p.asked.map((a) => a.path);
    for (const path of ["/v1/me", "/v1/sweeps/:id", "/v1/sweeps/:id/trials", "/v1/sweeps/:id/epochs"]) expect(paths.filter((x) => x === path)).toHaveLength(1);
    // All four were asked at once, before any answer: the bundle alone would wait for the session (/v1/me) first.
    expect(p.events.slice(0, 4).sort()).toEqual(["asked /v1/me", "asked /v1/sweeps/:id", "asked /v1/sweeps/:id/epochs", "asked /v1/sweeps/:id/trials"]);
    expect(p.asked.every((a) => a.key === `Bearer ${stack.team.apiKey}`)).toBe(true);
    expect(p.problems).toEqual([]);
    await p.context.close();
  }, 60_000);

  it("are not used for another key: after signing in again, the page asks afresh with the new key", async () => {
    const p = await openSweep("hs_not_a_key_of_anyone_0123456789");
    await p.page.waitForSelector("#api-key");
    await p.page.fill("#api-key", stack.team.apiKey);
    await p.page.click("button[type=submit]");
    await p.page.waitForSelector("table[data-table=trials] tbody tr[data-trial]");
    await waitForCharts(p.page);
    const withKey = p.asked.filter((a) => a.key === `Bearer ${stack.team.apiKey}`).map((a) => a.path);
    for (const path of ["/v1/me", "/v1/sweeps/:id", "/v1/sweeps/:id/trials", "/v1/sweeps/:id/epochs"]) expect(withKey).toContain(path);
    // The refused key's early answers (401) were never shown: the only problems are those 401s in the console.
    expect(p.problems.every((x) => /401/.test(x))).toBe(true);
    await p.context.close();
  }, 60_000);
});
