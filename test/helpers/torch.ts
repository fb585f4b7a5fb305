/** Debian's python3-torch / python3-torchvision, which parity tests compare against (`.ci/run` installs them). */
import { execFileSync } from "node:child_process";

/** Debian's interpreter (the `python3` first on PATH may be another one); HYPERSWEEP_TORCH_PYTHON overrides it. */
export const PYTHON = process.env.HYPERSWEEP_TORCH_PYTHON || "/usr/bin/python3";

/** In CI (CI=true) a missing torch fails the torch tests instead of skipping them. */
export const IN_CI = /^(true|1)$/i.test(process.env.CI ?? "");

/** True when torch and torchvision are installed (found without importing torch, which takes seconds). */
export const hasTorchvision: boolean = (() => {
  try {
    const code = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('torchvision') else 1)";
    execFileSync(PYTHON, ["-c", code], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Skip the torch tests on a machine without torch, but never in CI. */
export const skipWithoutTorch = !hasTorchvision && !IN_CI;

/** Throws in CI when torch is missing (call in beforeAll), naming what to install. */
export function requireTorchInCi(): void {
  if (!hasTorchvision && IN_CI) throw new Error(`CI=${process.env.CI} and ${PYTHON} cannot find torch and torchvision: install Debian's python3-torch and python3-torchvision (.ci/run does)`);
}
