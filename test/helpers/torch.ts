/** Debian's python3-torch / python3-torchvision, which parity tests compare against (see STACK.md). */
import { execFileSync } from "node:child_process";

export const PYTHON = "/usr/bin/python3";

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
