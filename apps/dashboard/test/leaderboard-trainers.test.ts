/**
 * The leaderboard by trainer, in headless Chromium against the real API and Postgres: with winners trained by
 * both trainers the table names each winner's trainer (as the API does), and choosing a trainer shows only its
 * winners. Results are recorded through the statements a worker runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDashboardBuilt } from "../src/index.ts";
import { recordAucs } from "../../../test/helpers/results.ts";
import { startStack, sweepBody, type Stack } from "../../../test/helpers/stack.ts";
import { launch, openPage, screenshot, signIn, visit, type Browsing, type WatchedPage } from "./browser.ts";

let stack: Stack;
let browsing: Browsing;
let page: WatchedPage;

beforeAll(async () => {
  await ensureDashboardBuilt();
  stack = await startStack("lbtrainers");
  const overrides = { searchEpochs: 2, learningRates: [1e-3], subsetsPerRate: 2, final: false };
  for (const [seed, trainer, architectures] of [[1, "tfjs", ["small_cnn", "resnet18"]], [2, "pytorch", ["small_cnn"]]] as const) {
    const res = await stack.http("POST", "/v1/sweeps", sweepBody(stack.dataset.id, { seed, trainer, architectures, overrides }));
    expect(res.status).toBe(201);
  }
  // small_cnn: PyTorch 0.83 beats TensorFlow.js 0.72; resnet18 only trained by TensorFlow.js (0.69).
  await recordAucs(stack.db, "tfjs", [0.72, 0.66, 0.69, 0.61]);
  await recordAucs(stack.db, "pytorch", [0.83, 0.8]);
  browsing = await launch();
  page = await openPage(browsing);
  await signIn(page.page, stack.url, stack.team.apiKey);
}, 120_000);

afterAll(async () => {
  await browsing?.close();
  await stack?.close();
});

const cells = (p: WatchedPage["page"]) =>
  p.$$eval("table[data-table=leaderboard] tbody tr", (trs) => trs.map((tr) => [tr.getAttribute("data-architecture"), tr.querySelector("[data-cell=trainer]")?.textContent ?? null, tr.querySelector("[data-cell=validation]")?.textContent]));

describe("the leaderboard by trainer", () => {
  it("names each winner's trainer when both trained, and shows one trainer's winners when chosen", async () => {
    const p = page.page;
    const api = (await stack.http("GET", `/v1/leaderboard?dataset=${stack.dataset.id}`)).body.rows as Array<{ architecture: string; trainer: string; score: number }>;
    const label = { tfjs: "TensorFlow.js", pytorch: "PyTorch" } as Record<string, string>;
    await visit(p, stack.url, `/leaderboard/${stack.dataset.id}`, "table[data-table=leaderboard]");
    expect(await p.$$eval("table[data-table=leaderboard] thead th", (ths) => ths.map((t) => t.textContent))).toContain("Trainer");
    expect(await cells(p)).toEqual(api.map((r) => [r.architecture, label[r.trainer], r.score.toFixed(3)]));
    expect(await cells(p)).toEqual([["small_cnn", "PyTorch", "0.830"], ["resnet18", "TensorFlow.js", "0.690"]]);
    expect(await p.textContent("[data-scenario] .answer")).toMatch(/^Best: small_cnn \(PyTorch\) with learning rate/);
    await screenshot(p, "leaderboard-trainers");

    await p.selectOption("#lb-trainer", "tfjs");
    await p.waitForFunction(() => location.hash.endsWith("/tfjs") && !document.querySelector("[data-cell=trainer]") && document.querySelector("table[data-table=leaderboard]"));
    expect(await cells(p)).toEqual([["small_cnn", null, "0.720"], ["resnet18", null, "0.690"]]);

    await p.selectOption("#lb-trainer", "pytorch");
    await p.waitForFunction(() => location.hash.endsWith("/pytorch") && document.querySelectorAll("table[data-table=leaderboard] tbody tr").length === 1);
    expect(await cells(p)).toEqual([["small_cnn", "PyTorch", "0.830"]]);
    await screenshot(p, "leaderboard-pytorch");
    expect(page.problems).toEqual([]);
  });
});
