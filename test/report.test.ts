/**
 * The sweep report over real HTTP (stand-in trainer with known metrics, real worker, Postgres, Redis): every
 * number in the Markdown, HTML and CSV reports is one the API serves for the sweep and its trials; user names
 * render as text; the CLI writes the same report.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, ROOT, startStack, type Stack } from "./helpers/stack.ts";

const run = promisify(execFile);
const NAME = `<script>alert("x")</script> | *lr* sweep`;
const f3 = (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "—");

interface Trial { id: string; architecture: string; learningRate: number; augmentations: string[]; stage: string; status: string; valAuc: number; valF1: number; valLoss: number; bestEpoch: number; epochsDone: number; metrics: any }

describe("the sweep report", () => {
  let s: Stack;
  let sweepId: string;
  let trials: Trial[];
  const get = async (q: string, accept?: string) => {
    const res = await fetch(`${s.url}/v1/sweeps/${sweepId}/report${q}`, { headers: { authorization: `Bearer ${s.team.apiKey}`, ...(accept ? { accept } : {}) } });
    return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
  };

  beforeAll(async () => {
    s = await startStack("report");
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2" });
    const res = await s.http("POST", "/v1/sweeps", {
      name: NAME, dataset: s.dataset.id, scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn", "resnet18"], seed: 3,
      overrides: { learningRates: [1e-2, 1e-3], subsetsPerRate: 2, searchEpochs: 2, finalEpochs: 4 },
    });
    expect(res.status).toBe(201);
    sweepId = res.body.id;
    await eventually(async () => (await s.http("POST", `/v1/sweeps/${sweepId}/final`, {})).status !== 409, 60_000, 200);
    await eventually(async () => {
      const { body } = await s.http("GET", `/v1/sweeps/${sweepId}/trials`);
      const finals = body.trials.filter((t: Trial) => t.stage === "final");
      return finals.length === 2 && finals.every((t: Trial) => t.status === "succeeded");
    }, 60_000, 200);
    trials = (await s.http("GET", `/v1/sweeps/${sweepId}/trials`)).body.trials;
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  it("Markdown: the grid and the final table carry the API's numbers, and no number the API does not serve", async () => {
    const md = await get("?format=md");
    expect(md.status).toBe(200);
    expect(md.type).toMatch(/^text\/markdown/);
    const search = trials.filter((t) => t.stage === "search");
    const finals = trials.filter((t) => t.stage === "final");
    expect(search).toHaveLength(8);
    // Every grid cell: validation AUC / F1 of that trial; the winners (retrained) are starred.
    for (const t of search) {
      const winner = finals.some((f) => f.architecture === t.architecture && f.learningRate === t.learningRate && f.augmentations.join() === t.augmentations.join());
      expect(md.text).toContain(`${f3(t.valAuc)} / ${f3(t.valF1)}${winner ? " ★" : ""}`);
    }
    expect(md.text.match(/★/g)).toHaveLength(1 + 2); // the legend and one winner per architecture
    for (const f of finals) {
      const test = f.metrics.test;
      const cell = (k: string) => (test.metrics[k] === undefined ? "—" : `${f3(test.metrics[k])}${test.intervals[k] ? ` (${f3(test.intervals[k].lower)}–${f3(test.intervals[k].upper)})` : ""}`);
      expect(md.text).toContain(`| ${f.architecture} | ${["precision", "recall", "f1", "accuracy", "auc"].map(cell).join(" | ")} | ${test.n} |`);
      expect(md.text).toContain(`| ${f.architecture} | ${f.learningRate} | ${f.augmentations.join(", ") || "none"} | ${f.bestEpoch} | ${f.epochsDone} |`);
      for (const [i, row] of test.confusionMatrix.entries()) expect(md.text).toContain(`| ${test.classes[i]} | ${row.join(" | ")} |`);
    }
    // Every decimal in the report is an API value (three decimals) or a learning rate.
    const allowed = new Set<string>();
    for (const t of trials) {
      for (const v of [t.valAuc, t.valF1, t.valLoss, t.learningRate]) allowed.add(f3(v));
      allowed.add(String(t.learningRate));
      const test = t.metrics?.test;
      if (test) for (const k of Object.keys(test.metrics)) {
        allowed.add(f3(test.metrics[k]));
        if (test.intervals[k]) allowed.add(f3(test.intervals[k].lower)).add(f3(test.intervals[k].upper));
      }
    }
    const decimals = md.text.match(/\d+\.\d+/g) ?? [];
    expect(decimals.length).toBeGreaterThan(30);
    expect(decimals.filter((d) => !allowed.has(d))).toEqual([]);
    expect(md.text).toContain("## Further evaluations");
  });

  it("CSV: one row per number, equal to the API's values", async () => {
    const csv = await get("?format=csv");
    expect(csv.type).toMatch(/^text\/csv/);
    const [header, ...rows] = parse(csv.text) as string[][];
    expect(header).toEqual(["section", "architecture", "trial_id", "learning_rate", "augmentations", "test_set", "metric", "value", "ci_lower", "ci_upper", "n", "status"]);
    const byId = new Map(trials.map((t) => [t.id, t]));
    let checked = 0;
    for (const r of rows) {
      const t = byId.get(r[2]!)!;
      const value = r[7] === "" ? null : Number(r[7]);
      if (r[0]!.startsWith("search")) expect(value).toBe({ valAuc: t.valAuc, valF1: t.valF1, valLoss: t.valLoss, bestEpoch: t.bestEpoch }[r[6]!]);
      else if (r[0] === "confusion") {
        const [from, to] = r[6]!.split(" -> ");
        const { classes, confusionMatrix } = t.metrics.test;
        expect(value).toBe(confusionMatrix[classes.indexOf(from)][classes.indexOf(to)]);
      } else if (r[0] === "final") {
        expect(value).toBe(t.metrics.test.metrics[r[6]!] ?? null);
        if (r[8]) expect([Number(r[8]), Number(r[9])]).toEqual([t.metrics.test.intervals[r[6]!].lower, t.metrics.test.intervals[r[6]!].upper]);
      }
      checked++;
    }
    expect(checked).toBe(rows.length);
    expect(checked).toBe(8 * 4 + 2 * 5 + 2 * 4);
  });

  it("HTML: self-contained, names rendered as text; format by Accept too", async () => {
    const html = await get("", "text/html");
    expect(html.type).toMatch(/^text\/html/);
    expect(html.text).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; | *lr* sweep");
    expect(html.text).not.toMatch(/<script|<link|<img|src=|https?:\/\//i);
    expect((await get("?format=html")).text).toBe(html.text);
    expect((await get("", "text/csv")).type).toMatch(/^text\/csv/);
    // Markdown escapes the name's table and emphasis syntax.
    expect((await get("")).text).toContain("\\<script\\>alert(\"x\")\\</script\\> \\| \\*lr\\* sweep");
  });

  it("the CLI prints the same report and writes it to a file with -o", async () => {
    const env = { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey, NO_COLOR: "1" };
    const cli = (args: string[]) => run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), ...args], { env, cwd: ROOT });
    const md = await cli(["report", sweepId]);
    expect(md.stdout).toBe((await get("?format=md")).text);
    const file = join(s.tmp, "report.csv");
    await cli(["report", sweepId, "--format", "csv", "-o", file]);
    expect(readFileSync(file, "utf8")).toBe((await get("?format=csv")).text);
    const bad = await cli(["report", sweepId, "--format", "pdf"]).catch((e) => e);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/pdf/);
  });

  it("answers 404 for another team's sweep and 400 naming a bad format", async () => {
    const other = await s.newTeam("report-other");
    expect((await s.http("GET", `/v1/sweeps/${sweepId}/report`, undefined, other.apiKey)).status).toBe(404);
    const bad = await s.http("GET", `/v1/sweeps/${sweepId}/report?format=pdf`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/format/);
  });
});
