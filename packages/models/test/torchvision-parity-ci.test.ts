/**
 * The torchvision parity test must run on every CI submission: in CI (CI=true) a machine without PyTorch fails
 * it, naming what to install, instead of skipping it silently; on a developer's machine without PyTorch it is
 * skipped. Runs the parity test file in its own vitest process with an interpreter that cannot see torch.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../../..");
const dir = mkdtempSync(path.join(tmpdir(), "hs-notorch-"));
// Debian's python without its site packages: the interpreter runs, torch and torchvision are not there.
const noTorch = path.join(dir, "python3");
writeFileSync(noTorch, "#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n");
chmodSync(noTorch, 0o755);

async function parity(ci: boolean): Promise<{ code: number; out: string }> {
  const env: Record<string, string | undefined> = { ...process.env, HYPERSWEEP_TORCH_PYTHON: noTorch, CI: ci ? "true" : undefined };
  if (!ci) delete env.CI;
  try {
    const r = await run(path.join(ROOT, "node_modules/.bin/vitest"), ["run", "packages/models/test/torchvision-parity.test.ts"], { cwd: ROOT, env, maxBuffer: 16 << 20 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe("torchvision parity without PyTorch", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("fails in CI, naming the packages to install", async () => {
    const r = await parity(true);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("cannot find torch and torchvision: install Debian's python3-torch and python3-torchvision");
  }, 120_000);

  it("is skipped outside CI", async () => {
    const r = await parity(false);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 skipped/);
  }, 120_000);
});
