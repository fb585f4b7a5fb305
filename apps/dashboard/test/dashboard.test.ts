/**
 * The dashboard end to end in headless Chromium, against the real API, Postgres and Redis, with a real sweep run
 * by real workers (the fixture trainer): every page renders without console errors (screenshots under
 * test-artifacts/screenshots), the numbers on screen are the API's, the charts hold what they claim, a trial's
 * status changes live, a read-only key sees no write action, and user strings stay text.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hyperparameterImportance } from "@hypersweep/metrics";
import { ensureDashboardBuilt } from "../src/index.ts";
import { ADMIN_TOKEN, eventually, startStack, sweepBody, type Stack } from "../../../test/helpers/stack.ts";
import { chartOption, launch, openPage, screenshot, signIn, visit, waitForCharts, type Browsing, type WatchedPage } from "./browser.ts";

const XSS = "<img src=x onerror=alert(1)>";
const f3 = (v: number) => v.toFixed(3);

let stack: Stack;
let browsing: Browsing;
let writer: WatchedPage;
let readKey: string;
let sweepId: string;
/** The worker that runs the sweep (it heartbeats throughout). */
let firstWorker: string;
let trials: Array<{ id: string; architecture: string; status: string; stage: string; selectionScore: number | null }>;

beforeAll(async () => {
  await ensureDashboardBuilt();
  stack = await startStack("dashboard");
  browsing = await launch();
  const key = await fetch(`${stack.url}/v1/admin/teams/${stack.team.id}/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "wall screen", scope: "read" }),
  });
  expect(key.status).toBe(201);
  readKey = ((await key.json()) as { apiKey: string }).apiKey;
  // Two architectures × 4 learning rates × 2 subsets, 3 epochs each.
  const res = await stack.http("POST", "/v1/sweeps", sweepBody(stack.dataset.id, { name: XSS, architectures: ["small_cnn", "resnet18"], overrides: { searchEpochs: 3, finalEpochs: 6, imageSize: 16, subsetsPerRate: 2 } }));
  expect(res.status).toBe(201);
  sweepId = res.body.id;
  writer = await openPage(browsing);
  await signIn(writer.page, stack.url, stack.team.apiKey);
}, 120_000);

afterAll(async () => {
  await browsing?.close();
  await stack?.close();
});

describe("dashboard in a real browser", () => {
  it("signs in, shows a sweep live: a trial goes queued → running → succeeded without a reload", async () => {
    const { page } = writer;
    await visit(page, stack.url, `/sweeps/${sweepId}`, "table[data-table=trials] tbody tr[data-trial]");
    await page.evaluate(() => ((window as unknown as { loadedOnce: number }).loadedOnce = 1));
    const first = (await stack.http("GET", `/v1/sweeps/${sweepId}/trials`)).body.trials[0].id as string;
    const badge = `tr[data-trial="${first}"] [data-status]`;
    expect(await page.getAttribute(badge, "data-status")).toBe("queued");
    expect(await page.locator("[data-action=cancel]").count()).toBe(1);
    // No trial has finished: importance says so and draws no bar.
    expect(await page.textContent("[data-architecture=small_cnn] [data-importance-note]")).toMatch(/^Not enough trials: 0 finished trials; at least 6 are needed/);
    expect((await chartOption(page, "importance-small_cnn")).series).toEqual([]);
    await screenshot(page, "sweep-queued");
    // Final trainings keep their validation and test predictions (the fixture trainer reports them when asked).
    firstWorker = (await stack.startWorker({ HYPERSWEEP_CONCURRENCY: "2", FAKE_EPOCH_MS: "250", FAKE_TEST_PREDICTIONS: "1", FAKE_VAL_PREDICTIONS: "1" })).id;
    await page.waitForSelector(`tr[data-trial="${first}"] [data-status=running]`, { timeout: 30_000 });
    await screenshot(page, "sweep-running");
    await page.waitForSelector(`tr[data-trial="${first}"] [data-status=succeeded]`, { timeout: 30_000 });
    // Every trial ends succeeded on screen, still without a reload.
    await page.waitForFunction(() => Array.from(document.querySelectorAll("table[data-table=trials] [data-status]")).every((b) => b.getAttribute("data-status") === "succeeded"), null, { timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce)).toBe(1);
    // The live learning curves catch up too (they are redrawn at most once a second): every epoch of every trial.
    await page.waitForFunction(
      () => ["small_cnn", "resnet18"].every((a) => {
        const host = document.querySelector(`[data-chart="curves-${a}"]`) as (HTMLElement & { hsChart?: { getOption(): { series: Array<{ data: unknown[] }> } } }) | null;
        const series = host?.hsChart?.getOption().series ?? [];
        return series.length === 8 && series.every((x) => x.data.length === 3);
      }),
      null,
      { timeout: 15_000 },
    );
    await eventually(async () => (await stack.http("GET", `/v1/sweeps/${sweepId}`)).body.status === "succeeded", 30_000);
    expect(writer.problems).toEqual([]);
  }, 120_000);

  it("draws one heatmap cell per planned trial and one learning curve per trial with one point per epoch", async () => {
    const { page } = writer;
    trials = (await stack.http("GET", `/v1/sweeps/${sweepId}/trials`)).body.trials;
    const spec = (await stack.http("GET", `/v1/sweeps/${sweepId}`)).body.spec as { augmentations: string[] };
    // A fresh load of the finished sweep (going to the same address again would keep the live page).
    await visit(page, stack.url, "/sweeps", "table[data-table=sweeps]");
    await visit(page, stack.url, `/sweeps/${sweepId}`, "table[data-table=trials] tbody tr[data-trial]");
    await page.waitForFunction(() => !document.querySelector("main")?.dataset.liveEvents);
    for (const arch of ["small_cnn", "resnet18"]) {
      const planned = trials.filter((t) => t.architecture === arch && t.stage === "search");
      expect(planned.length).toBe(8);
      const heat = await chartOption(page, `heatmap-${arch}`);
      const cells = heat.series[0].data as Array<{ value: [number, number, number | string] }>;
      expect(cells.filter((c) => typeof c.value[2] === "number")).toHaveLength(planned.length);
      // Each filled cell holds its trial's score.
      expect(cells.map((c) => c.value[2]).sort()).toEqual(planned.map((t) => t.selectionScore).sort());
      const curves = await chartOption(page, `curves-${arch}`);
      expect(curves.series.map((s: { id: string }) => s.id).sort()).toEqual(planned.map((t) => t.id).sort());
      for (const s of curves.series) expect(s.data.map((p: number[]) => p[0])).toEqual([1, 2, 3]);
      // The winner (the API's best) is the emphasised line.
      const best = (await stack.http("GET", `/v1/best?dataset=${stack.dataset.id}&scenario=ct/binary&architecture=${arch}`)).body.winner;
      const wide = curves.series.filter((s: { lineStyle: { width: number } }) => s.lineStyle.width === 3).map((s: { id: string }) => s.id);
      expect(wide).toEqual([best.trialId]);
      const parallel = await chartOption(page, `parallel-${arch}`);
      expect(parallel.series[0].data).toHaveLength(planned.length);
      // Importance: the share of variance (ε²) of each hyperparameter over the API's finished trials.
      const finished = planned.filter((t) => t.status === "succeeded") as unknown as Array<{ learningRate: number; augmentations: string[]; selectionScore: number }>;
      const expected = hyperparameterImportance(finished.map((t) => ({ learningRate: t.learningRate, augmentations: t.augmentations, score: t.selectionScore })), spec.augmentations);
      expect(expected.enough).toBe(true);
      const importance = await chartOption(page, `importance-${arch}`);
      const bars = (importance.series[0].data as Array<{ name: string; value: number }>).map((b) => [b.name, b.value]).sort();
      expect(bars).toEqual(expected.factors.filter((f) => f.share != null).map((f) => [f.factor, f.share]).sort());
      expect(bars.map((b) => b[0])).toContain("learning rate");
      expect(await page.textContent(`[data-architecture=${arch}] [data-importance-note]`)).toContain(`across ${finished.length} finished search trials`);
    }
    // Grid: sorted by validation AUC descending with two clicks on its header.
    await page.click("th:has-text('Val AUC') button");
    await page.click("th:has-text('Val AUC') button");
    const firstRow = await page.getAttribute("table[data-table=trials] tbody tr[data-trial]", "data-trial");
    const top = [...trials].sort((a, b) => (b as unknown as { valAuc: number }).valAuc - (a as unknown as { valAuc: number }).valAuc)[0];
    expect(firstRow).toBe(top.id);
    await page.fill("#grid-search", "resnet18");
    expect(await page.locator("table[data-table=trials] tbody tr[data-trial]").count()).toBe(8);
    await page.fill("#grid-search", "");
    expect(await page.locator("[data-action=final]").count()).toBe(1);
    await screenshot(page, "sweep");
    expect(writer.problems).toEqual([]);
  }, 60_000);

  it("a read-only key sees everything, gets no write buttons, and a write over HTTP is 403", async () => {
    const reader = await openPage(browsing);
    await signIn(reader.page, stack.url, readKey);
    expect(await reader.page.textContent("[data-scope]")).toBe("read-only");
    await visit(reader.page, stack.url, `/sweeps/${sweepId}`, "table[data-table=trials] tbody tr[data-trial]");
    expect(await reader.page.locator("table[data-table=trials] tbody tr[data-trial]").count()).toBe(16);
    expect(await reader.page.locator("[data-action=final], [data-action=cancel]").count()).toBe(0);
    expect(await reader.page.locator("[data-action=export-csv]").count()).toBe(1);
    await screenshot(reader.page, "sweep-read-only");
    const denied = await stack.http("POST", `/v1/sweeps/${sweepId}/final`, {}, readKey);
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/read-only/);
    expect((await stack.http("POST", "/v1/sweeps", sweepBody(stack.dataset.id), readKey)).status).toBe(403);
    expect((await stack.http("GET", `/v1/sweeps/${sweepId}/trials`, undefined, readKey)).status).toBe(200);
    expect(reader.problems).toEqual([]);
    await reader.context.close();
  }, 60_000);

  it("final training: the trial page shows the API's test metrics, intervals and confusion matrix", async () => {
    const { page } = writer;
    await visit(page, stack.url, `/sweeps/${sweepId}`, "[data-action=final]");
    await page.click("[data-action=final]");
    await page.click("[data-action=final]"); // confirm
    await eventually(async () => {
      const t = (await stack.http("GET", `/v1/sweeps/${sweepId}/trials`)).body.trials as Array<{ stage: string; status: string }>;
      const finals = t.filter((x) => x.stage === "final");
      return finals.length === 2 && finals.every((x) => x.status === "succeeded");
    }, 60_000);
    const finals = ((await stack.http("GET", `/v1/sweeps/${sweepId}/trials`)).body.trials as Array<{ id: string; stage: string }>).filter((t) => t.stage === "final");
    const trial = (await stack.http("GET", `/v1/trials/${finals[0].id}`)).body;
    const test = trial.metrics.test;
    await visit(page, stack.url, `/trials/${trial.id}`, "table[data-table=test-metrics]");
    for (const m of ["auc", "f1"]) {
      expect(await page.textContent(`[data-metric=${m}]`)).toBe(f3(test.metrics[m]));
      expect(await page.textContent(`[data-interval=${m}]`)).toBe(`[${f3(test.intervals[m].lower)}, ${f3(test.intervals[m].upper)}]`);
    }
    const counts = await chartOption(page, "confusion-counts");
    const n = test.classes.length;
    const shown = (counts.series[0].data as number[][]).map(([col, row, v]) => ({ t: n - 1 - row, p: col, v }));
    for (const c of shown) expect(c.v).toBe(test.confusionMatrix[c.t][c.p]);
    expect(shown).toHaveLength(n * n);
    const norm = await chartOption(page, "confusion-normalised");
    const rowSum = (i: number) => test.confusionMatrix[i].reduce((a: number, b: number) => a + b, 0);
    for (const [col, row, v] of norm.series[0].data as number[][]) expect(v).toBeCloseTo(test.confusionMatrix[n - 1 - row][col] / rowSum(n - 1 - row), 9);
    expect(await page.locator("table[data-table=epochs] tbody tr").count()).toBe(trial.epochs.length);
    // ROC and precision-recall curves: the API's points and areas, for both kept splits.
    const api = (await stack.http("GET", `/v1/trials/${trial.id}/curves`)).body as { splits: Array<{ split: string; curves: Array<{ class: string; auc: number; averagePrecision: number; roc: unknown[]; pr: unknown[] }> }> };
    expect(api.splits.map((sp) => sp.split).sort()).toEqual(["test", "val"]);
    for (const sp of api.splits) {
      await page.waitForSelector(`[data-chart=roc-${sp.split}][data-drawn]`);
      await page.waitForSelector(`[data-chart=pr-${sp.split}][data-drawn]`);
      const roc = await chartOption(page, `roc-${sp.split}`);
      const pr = await chartOption(page, `pr-${sp.split}`);
      for (const c of sp.curves) {
        expect(c.roc.length).toBeGreaterThan(2);
        expect(roc.series.find((x: { id: string }) => x.id === c.class).data).toHaveLength(c.roc.length);
        expect(pr.series.find((x: { id: string }) => x.id === c.class).data).toHaveLength(c.pr.length);
        expect(await page.textContent(`[data-auc="${sp.split}:${c.class}"]`)).toBe(f3(c.auc));
        expect(await page.textContent(`[data-ap="${sp.split}:${c.class}"]`)).toBe(f3(c.averagePrecision));
      }
    }
    // The test split's AUC drawn is the one the test metrics report (both from the kept predictions).
    expect(await page.textContent(`[data-auc="test:${test.positiveClass}"]`)).toBe(f3(test.metrics.auc));
    await screenshot(page, "trial-final");
    const phone = await openPage(browsing, { width: 390, height: 844 });
    await signIn(phone.page, stack.url, stack.team.apiKey);
    await visit(phone.page, stack.url, `/trials/${trial.id}`, "table[data-table=test-metrics]");
    await phone.page.waitForSelector("[data-chart=roc-test][data-drawn]");
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(phone.page, "trial-final-390px");
    expect(phone.problems).toEqual([]);
    await phone.context.close();
    await visit(page, stack.url, `/trials/${trials[0].id}`, "table[data-table=attempts]");
    await screenshot(page, "trial-search");
    expect(writer.problems).toEqual([]);
  }, 120_000);

  it("the leaderboard's cells are the API's, with test intervals in the table and the forest plot", async () => {
    const { page } = writer;
    const lb = (await stack.http("GET", `/v1/leaderboard?dataset=${stack.dataset.id}`)).body.rows as Array<{ architecture: string; selectionScore: number; final: { metrics: { test: { metrics: Record<string, number>; intervals: Record<string, { lower: number; upper: number }> } } } }>;
    expect(lb).toHaveLength(2);
    await visit(page, stack.url, `/leaderboard/${stack.dataset.id}`, "table[data-table=leaderboard]");
    for (const r of lb) {
      const row = `tr[data-architecture="${r.architecture}"]`;
      expect(await page.textContent(`${row} [data-cell=validation]`)).toBe(f3(r.selectionScore));
      const t = r.final.metrics.test;
      expect(await page.textContent(`${row} [data-cell=test-auc]`)).toBe(`${f3(t.metrics.auc)} [${f3(t.intervals.auc.lower)}, ${f3(t.intervals.auc.upper)}]`);
      expect(await page.textContent(`${row} [data-cell=test-f1]`)).toBe(`${f3(t.metrics.f1)} [${f3(t.intervals.f1.lower)}, ${f3(t.intervals.f1.upper)}]`);
    }
    const forest = await chartOption(page, "forest-ct_binary");
    const points = forest.series[0].data as Array<{ name: string; value: number[] }>;
    expect(points).toHaveLength(2);
    for (const p of points) {
      const t = lb.find((r) => r.architecture === p.name)!.final.metrics.test;
      expect(p.value[0]).toBe(t.metrics.auc);
      expect([p.value[2], p.value[3]]).toEqual([t.intervals.auc.lower, t.intervals.auc.upper]);
    }
    await screenshot(page, "leaderboard");
    const phone = await openPage(browsing, { width: 390, height: 844 });
    await signIn(phone.page, stack.url, stack.team.apiKey);
    await visit(phone.page, stack.url, `/leaderboard/${stack.dataset.id}`, "table[data-table=leaderboard]");
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(phone.page, "leaderboard-390px");
    await visit(phone.page, stack.url, `/sweeps/${sweepId}`, "table[data-table=trials] tbody tr[data-trial]");
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(phone.page, "sweep-390px");
    expect(phone.problems).toEqual([]);
    await phone.context.close();
    expect(writer.problems).toEqual([]);
  }, 60_000);

  it("renders the sweeps, datasets and fleet pages; a hostile dataset or sweep name stays text and runs nothing", async () => {
    const { page } = writer;
    const hostile = await stack.addDataset(stack.team.id, XSS, 40);
    await visit(page, stack.url, "/sweeps", "table[data-table=sweeps]");
    expect(await page.textContent(`a[href="#/sweeps/${sweepId}"]`)).toBe(XSS);
    await screenshot(page, "sweeps");
    await visit(page, stack.url, "/datasets", "table[data-table=datasets]");
    expect(await page.textContent(`a[data-dataset="${hostile.id}"]`)).toBe(XSS);
    await visit(page, stack.url, `/datasets/${hostile.id}`, "table[data-table=composition]");
    expect(await page.textContent("[data-field=dataset-name]")).toBe(XSS);
    const version = (await stack.http("GET", `/v1/datasets/${hostile.id}`)).body.versions[0];
    expect(await page.getAttribute("[data-hash]", "data-hash")).toBe(version.contentHash);
    await screenshot(page, "datasets");
    expect(await page.locator("img").count()).toBe(0);
    // A node in quarantine (as the failing transaction records it) is marked, with its reason.
    const reason = "3 consecutive attempts failed for reasons of the node (crashed × 3)";
    await stack.db.worker.create({
      data: { id: "sick-node", host: "gpu-7", pid: 1, gpus: ["0"], version: "0.1.0", concurrency: 1, quarantinedAt: new Date(), quarantinedUntil: new Date(Date.now() + 30 * 60_000), quarantineReason: reason, quarantineAttempts: [] },
    });
    await stack.db.worker.create({
      data: { id: "both-trainers", host: "gpu-8", pid: 2, gpus: ["0"], version: "0.1.0", concurrency: 1, trainers: ["tfjs", "pytorch"], backends: { tfjs: "tensorflow-gpu" } },
    });
    await visit(page, stack.url, "/fleet", "table[data-table=workers]");
    const workers = (await stack.http("GET", "/v1/workers")).body.workers;
    expect(await page.locator("table[data-table=workers] tbody tr").count()).toBe(workers.length);
    expect(await page.locator("[data-quarantine]").count()).toBe(1);
    expect(await page.textContent("tr:has([data-quarantine]) td:first-child")).toBe("sick-node");
    expect(await page.textContent("[data-quarantine] [data-field=quarantine-reason]")).toContain(reason);
    // Each worker's trainers, with the backend each reported once it ran a trial.
    const cell = (id: string) => page.textContent(`tr:has([data-worker="${id}"]) [data-cell=trainers]`);
    expect(await cell("sick-node")).toBe("tfjs");
    expect(await cell("both-trainers")).toBe("tfjs: tensorflow-gpu · pytorch");
    await screenshot(page, "fleet");
    expect(writer.dialogs).toEqual([]);
    expect(writer.problems).toEqual([]);
  }, 60_000);

  it("the sweeps list and the fleet follow the team's event stream: new sweeps, progress, status and workers without a reload or a poll", async () => {
    const { page } = writer;
    await visit(page, stack.url, "/sweeps", "table[data-table=sweeps]");
    await page.waitForSelector(".live[data-live=live]");
    await page.evaluate(() => ((window as unknown as { loadedOnce: number }).loadedOnce = 1));
    // Count the page's requests from here on: nothing may be asked while nothing happens.
    const asked: string[] = [];
    const onRequest = (r: { url(): string }) => asked.push(r.url());
    page.on("request", onRequest);
    await page.waitForTimeout(6_000);
    expect(asked).toEqual([]);
    const created = await stack.http("POST", "/v1/sweeps", sweepBody(stack.dataset.id, { name: "live one", seed: 11, overrides: { searchEpochs: 4, imageSize: 16, subsetsPerRate: 1 } }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await page.waitForSelector(`tr[data-row="${id}"]`, { timeout: 15_000 });
    expect(await page.textContent(`a[data-sweep="${id}"]`)).toBe("live one");
    await page.waitForSelector(`tr[data-row="${id}"] [data-status=succeeded]`, { timeout: 60_000 });
    const final = (await stack.http("GET", "/v1/overview/sweeps")).body.sweeps.find((x: { id: string }) => x.id === id);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === "100%", `tr[data-row="${id}"] [data-cell=progress] .muted`, { timeout: 10_000 });
    expect(final.progress.fraction).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce)).toBe(1);
    page.off("request", onRequest);
    // Only the list was re-read (after events), never on a timer.
    expect(asked.every((u) => /\/v1\/overview\/sweeps\?/.test(u))).toBe(true);
    await screenshot(page, "sweeps-live");

    await visit(page, stack.url, "/fleet", "table[data-table=workers]");
    await page.waitForSelector(".live[data-live=live]");
    await page.evaluate(() => ((window as unknown as { loadedOnce: number }).loadedOnce = 1));
    // Heartbeats arrive over the stream: the alive worker's heartbeat cell moves on, in place (no table redraw).
    const aliveRow = `table[data-table=workers] tbody tr:has([data-worker="${firstWorker}"])`;
    const firstBeat = await page.getAttribute(`${aliveRow} [data-heartbeat]`, "data-heartbeat");
    await page.evaluate((sel) => ((document.querySelector(sel) as HTMLElement).dataset.marked = "1"), aliveRow);
    await page.waitForFunction(([sel, t]) => document.querySelector(`${sel} [data-heartbeat]`)?.getAttribute("data-heartbeat") !== t, [aliveRow, firstBeat!] as const, { timeout: 10_000 });
    expect(await page.getAttribute(aliveRow, "data-marked")).toBe("1");
    const before = await page.locator("table[data-table=workers] tbody tr").count();
    const extra = await stack.startWorker({ HYPERSWEEP_CONCURRENCY: "1" });
    await page.waitForSelector(`[data-worker="${extra.id}"]`, { timeout: 15_000 });
    expect(await page.locator("table[data-table=workers] tbody tr").count()).toBe(before + 1);
    await extra.close();
    await page.waitForSelector(`tr:has([data-worker="${extra.id}"]) [data-stale]`, { timeout: 15_000 });
    expect(await page.textContent(`tr:has([data-worker="${extra.id}"]) [data-stale]`)).toBe("stopped");
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce)).toBe(1);
    await screenshot(page, "fleet-live");
    const phone = await openPage(browsing, { width: 390, height: 844 });
    await signIn(phone.page, stack.url, stack.team.apiKey);
    for (const [route, ready, name] of [["/sweeps", "table[data-table=sweeps]", "sweeps-390px"], ["/fleet", "table[data-table=workers]", "fleet-390px"]]) {
      await visit(phone.page, stack.url, route, ready);
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(phone.page, name);
    }
    expect(phone.problems).toEqual([]);
    await phone.context.close();
    expect(writer.problems).toEqual([]);
  }, 120_000);

  it("serves the page under a Content-Security-Policy that refuses inline scripts", async () => {
    const res = await fetch(`${stack.url}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const { page, problems, context } = await openPage(browsing);
    await page.goto(`${stack.url}/`);
    await page.waitForSelector("#api-key");
    const ran = await page.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.inlineRan = true";
      document.body.appendChild(s);
      return (window as unknown as { inlineRan?: boolean }).inlineRan === true;
    });
    expect(ran).toBe(false);
    expect(problems.join("\n")).toMatch(/Content Security Policy/);
    await context.close();
  });
});

it("waits for charts helper fails when a chart never draws", async () => {
  const b = browsing;
  const p = await openPage(b);
  await p.page.setContent('<div data-chart="x"></div>');
  await expect(waitForCharts(p.page, 300)).rejects.toThrow();
  await p.context.close();
});
