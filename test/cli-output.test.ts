/**
 * What scripts and people read from the `hypersweep` command, run as a real process against a real API: the
 * trials table names each trial's architecture; tables carry ANSI colour only on a terminal and never with
 * NO_COLOR; every command that prints a table gives the API's answer with --json; exit codes are as documented.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, ROOT, startStack, type Stack } from "./helpers/stack.ts";

const run = promisify(execFile);
const MAIN = join(ROOT, "apps/cli/src/main.ts");
const ANSI = /\x1b\[/;

describe("hypersweep output for people and scripts", () => {
  let s: Stack;
  let sweepId: string;
  const env = (extra: Record<string, string>) => {
    const e: Record<string, string | undefined> = { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey, ...extra };
    for (const k of ["NO_COLOR", "FORCE_COLOR"]) if (!(k in extra)) delete e[k];
    return e;
  };
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    try {
      const r = await run("node", ["--import", "tsx", MAIN, ...args], { cwd: ROOT, env: env(extra), maxBuffer: 16 << 20 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  /** The command on a pseudo-terminal (util-linux `script`), as a person at a terminal runs it. */
  const tty = async (args: string[], extra: Record<string, string> = {}) => {
    const cmd = ["node", "--import", "tsx", MAIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const r = await run("script", ["-qec", cmd, "/dev/null"], { cwd: ROOT, env: env({ TERM: "xterm-256color", ...extra }), maxBuffer: 16 << 20 });
    return r.stdout;
  };

  beforeAll(async () => {
    s = await startStack("clioutput");
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2" });
    const body = join(s.tmp, "sweep.json");
    writeFileSync(body, JSON.stringify({
      dataset: "stock", scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn", "resnet18"], seed: 3,
      overrides: { learningRates: [0.01, 0.001], subsetsPerRate: 1, searchEpochs: 1, imageSize: 32 },
    }));
    const sub = await cli(["submit", body, "--watch"]);
    expect(sub.code, sub.stderr).toBe(0);
    sweepId = /sweep ([0-9a-f-]{36})/.exec(sub.stdout)![1]!;
  }, 180_000);
  afterAll(async () => {
    await s?.close();
  });

  it("status names each trial's architecture, with plain text when piped", async () => {
    const r = await cli(["status", sweepId]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
    expect(r.stdout).toMatch(/│ # +│ architecture +│ status/);
    const { body } = await s.http("GET", `/v1/sweeps/${sweepId}/trials`);
    expect(new Set(body.trials.map((t: any) => t.architecture))).toEqual(new Set(["small_cnn", "resnet18"]));
    // The sweep runs both stages: each architecture's final training is listed as "<position> final".
    expect(body.trials.filter((t: any) => t.stage === "final").length).toBe(2);
    for (const t of body.trials) {
      const label = t.stage === "final" ? `${t.position} final` : `${t.position}`;
      expect(r.stdout).toMatch(new RegExp(`│ ${label} +│ ${t.architecture} +│ succeeded`));
    }
  }, 120_000);

  it("colours tables on a terminal only, and never with NO_COLOR", async () => {
    expect(await tty(["status", sweepId])).toMatch(/\x1b\[36marchitecture\x1b\[39m/);
    const plain = await tty(["status", sweepId], { NO_COLOR: "1" });
    expect(plain).toMatch(/│ architecture +│/);
    expect(plain).not.toMatch(ANSI);
    expect((await cli(["status", sweepId], { FORCE_COLOR: "1" })).stdout).toMatch(ANSI);
    expect((await cli(["status", sweepId], { FORCE_COLOR: "1", NO_COLOR: "1" })).stdout).not.toMatch(ANSI);
  }, 180_000);

  it("every command that prints a table gives the API's answer with --json", async () => {
    const json = async (args: string[]) => {
      const r = await cli([...args, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/[┌│]/);
      return JSON.parse(r.stdout);
    };
    const status = await json(["status", sweepId]);
    expect(status).toMatchObject({ id: sweepId, status: "succeeded", etaSeconds: 0 });
    expect(status.trials).toEqual((await s.http("GET", `/v1/sweeps/${sweepId}/trials`)).body.trials);
    expect(await json(["sweeps"])).toEqual((await s.http("GET", "/v1/sweeps")).body);
    expect(await json(["leaderboard", "--dataset", "stock"])).toEqual((await s.http("GET", "/v1/leaderboard?dataset=stock")).body);
    const best = await json(["best", "--dataset", "stock", "--scenario", "ct/binary", "--arch", "resnet18"]);
    expect(best).toEqual((await s.http("GET", "/v1/best?dataset=stock&scenario=ct%2Fbinary&architecture=resnet18")).body);
    expect(best.winner.architecture).toBe("resnet18");
    expect(await json(["datasets", "list"])).toEqual((await s.http("GET", "/v1/datasets")).body);
    expect(await json(["datasets", "show", "stock"])).toEqual((await s.http("GET", "/v1/datasets/stock")).body);
    expect(await json(["weights", "list"])).toEqual((await s.http("GET", "/v1/weights")).body);
  }, 300_000);

  it("exits 2 on a usage error, 1 when the API refuses, 5 when a followed sweep does not succeed", async () => {
    const usage = await cli(["status", sweepId, "--no-such-option"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("unknown option '--no-such-option'");
    expect((await cli(["frobnicate"])).code).toBe(2);
    const missing = await cli(["status", "00000000-0000-4000-8000-000000000000"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("HTTP 404");
    await s.stopWorkers();
    const sub = await s.http("POST", "/v1/sweeps", { dataset: "stock", scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn"], seed: 4, overrides: { searchEpochs: 1, imageSize: 32 } });
    await s.http("POST", `/v1/sweeps/${sub.body.id}/cancel`);
    await eventually(async () => (await s.http("GET", `/v1/sweeps/${sub.body.id}`)).body.status === "cancelled");
    const watched = await cli(["watch", sub.body.id]);
    expect(watched.stdout).toContain("finished: cancelled");
    expect(watched.code).toBe(5);
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:\n +0 +done\n +1 .*\n +2 +usage.*\n +3 .*reached\n +4 .*401\/403\)\n +5 .*cancelled/);
  }, 180_000);
});
