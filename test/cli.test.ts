/** The `hypersweep` command as a user runs it: a real process speaking HTTP to a real API. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, ROOT, startStack, type Stack } from "./helpers/stack.ts";

const run = promisify(execFile);

describe("hypersweep CLI", () => {
  let s: Stack;
  const cli = async (args: string[], env: Record<string, string> = {}) => {
    try {
      const r = await run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), ...args], {
        cwd: ROOT,
        env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey, ...env },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  beforeAll(async () => {
    s = await startStack("cli");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("submits a sweep, follows it to the end, and prints the winner as a table", async () => {
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2" });
    const sub = await cli(["submit", "--dataset", "stock", "--arch", "small_cnn", "--epochs", "2", "--seed", "9", "--watch"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/sweep [0-9a-f-]{36}: 20 trials, plan [0-9a-f]{64}/);
    expect(sub.stdout).toContain("finished: succeeded");
    const best = await cli(["best", "--dataset", "stock", "--scenario", "ct/binary", "--arch", "small_cnn"]);
    expect(best.code).toBe(0);
    expect(best.stdout).toContain("validation AUC");
    const top = await s.db.trial.findFirstOrThrow({ where: { status: "succeeded" }, orderBy: [{ selectionScore: "desc" }] });
    expect(best.stdout).toContain(top.selectionScore!.toFixed(3));
  }, 300_000);

  it("explains a rejected sweep field by field and exits 1", async () => {
    const r = await cli(["submit", "--dataset", "stock", "--arch", "vgg16"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("HTTP 400 INVALID");
    expect(r.stderr).toMatch(/- architectures\.0: /);
  });

  it("says clearly when the API cannot be reached (exit 3) or the key is wrong (exit 4)", async () => {
    const down = await cli(["sweeps"], { HYPERSWEEP_URL: "http://127.0.0.1:9" });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain("cannot reach the Hypersweep API at http://127.0.0.1:9");
    const bad = await cli(["sweeps"], { HYPERSWEEP_API_KEY: "hs_wrong" });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain("invalid API key (HTTP 401 UNAUTHORIZED)");
  });

  it("sets a team's weight and quotas as admin, shows them to the team, and changes a waiting sweep's priority", async () => {
    await s.stopWorkers(); // nothing runs: the team's counts stay put
    const set = await cli(["admin", "set-team", s.team.id, "--weight", "2", "--max-running", "3", "--max-waiting", "none"], { HYPERSWEEP_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("weight 2, max running 3, max waiting none (HYPERSWEEP_MAX_QUEUED_TRIALS)");
    const sub = await cli(["submit", "--dataset", "stock", "--arch", "small_cnn", "--epochs", "1", "--seed", "10", "--priority", "4"]);
    expect(sub.code).toBe(0);
    const id = /sweep ([0-9a-f-]{36})/.exec(sub.stdout)![1]!;
    expect((await s.db.sweep.findUniqueOrThrow({ where: { id } })).priority).toBe(4);
    const team = await cli(["team"]);
    expect(team.code).toBe(0);
    expect(team.stdout).toContain("weight 2");
    expect(team.stdout).toContain("running 0 of 3");
    expect(team.stdout).toContain("waiting 20 of 2000 (HYPERSWEEP_MAX_QUEUED_TRIALS)");
    const prio = await cli(["priority", id, "7"]);
    expect(prio.stdout).toContain(`${id} priority 7`);
    expect(await s.db.trial.count({ where: { sweepId: id, priority: 7 } })).toBe(20);
    const bad = await cli(["priority", id, "high"]);
    expect(bad.code).toBe(2);
    await s.http("POST", `/v1/sweeps/${id}/cancel`);
    const done = await cli(["priority", id, "1"]);
    expect(done.code).toBe(1);
    expect(done.stderr).toContain("409");
  });

  it("submits a sweep for the pytorch trainer (--trainer), and an unknown trainer is refused naming the field", async () => {
    const sub = await cli(["submit", "--dataset", "stock", "--arch", "small_cnn", "--epochs", "1", "--seed", "12", "--trainer", "pytorch"]);
    expect(sub.code).toBe(0);
    const id = /sweep ([0-9a-f-]{36})/.exec(sub.stdout)![1]!;
    expect((await s.http("GET", `/v1/sweeps/${id}`)).body.trainer).toBe("pytorch");
    expect(new Set((await s.db.trial.findMany({ where: { sweepId: id } })).map((t) => t.trainer))).toEqual(new Set(["pytorch"]));
    await s.http("POST", `/v1/sweeps/${id}/cancel`);
    const bad = await cli(["submit", "--dataset", "stock", "--arch", "small_cnn", "--trainer", "jax"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("trainer");
  });

  it("creates a team with the admin token and shows its key once", async () => {
    const r = await cli(["admin", "create-team", "neuro"], { HYPERSWEEP_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/API key \(shown once, store it now\): hs_/);
  });
});
