/**
 * Runs the benchmarks one after another (never in parallel: the machine has two cores) and assembles their
 * results into BENCHMARKS.md. `npm run bench` runs them all; `npm run bench -- orchestrator best-query` runs
 * some; `npm run bench -- --assemble` only rebuilds BENCHMARKS.md from bench/results/*.md.
 * trainer-speed needs PyTorch for its side-by-side column: `apt-get install -y python3-torch python3-torchvision`
 * (it runs without, with --no-torch, when /usr/bin/python3 cannot import torch). trainer-trial and
 * trainer-agreement run the PyTorch trainer and need it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const BENCHES: Record<string, { file: string; args?: () => string[]; result: string }> = {
  orchestrator: { file: "orchestrator.ts", result: "orchestrator.md" },
  fairness: { file: "fairness.ts", result: "fairness.md" },
  "best-query": { file: "best-query.ts", result: "best-query.md" },
  "trainer-speed": { file: "trainer-speed.ts", args: () => (hasTorch() ? [] : ["--no-torch"]), result: "trainer-speed.md" },
  "trial-walltime": { file: "trial-walltime.ts", result: "trial-walltime.md" },
  "data-cache": { file: "data-cache.ts", result: "data-cache.md" },
  metrics: { file: "metrics.ts", result: "metrics.md" },
  predictions: { file: "predictions.ts", result: "predictions.md" },
  core: { file: "core-plan.ts", result: "core.md" },
  "upload-bounds": { file: "upload-bounds.ts", result: "upload-bounds.md" },
  dashboard: { file: "dashboard.ts", result: "dashboard.md" },
  "epoch-rule": { file: "epoch-rule.ts", result: "epoch-rule.md" },
  // FLEET_PG_URL: a Postgres with the default max_connections (100) of its own (see bench/fleet.ts); FLEET_PG_LOG: its log.
  fleet: {
    file: "fleet.ts",
    args: () => [...(process.env.FLEET_PG_URL ? ["--pg", process.env.FLEET_PG_URL] : []), ...(process.env.FLEET_PG_LOG ? ["--pg-log", process.env.FLEET_PG_LOG] : [])],
    result: "fleet.md",
  },
  asha: { file: "asha.ts", result: "asha.md" },
  "trainer-trial": { file: "trainer-trial.ts", result: "trainer-trial.md" },
  "trainer-agreement": { file: "trainer-agreement.ts", result: "trainer-agreement.md" },
  "cold-node": { file: "cold-node.ts", result: "cold-node.md" },
  "team-stream": { file: "team-stream.ts", result: "team-stream.md" },
  quarantine: { file: "quarantine.ts", result: "quarantine.md" },
};

function hasTorch(): boolean {
  return spawnSync("/usr/bin/python3", ["-c", "import torch, torchvision"], { stdio: "ignore" }).status === 0;
}

function assemble(): void {
  const parts = [
    "# Benchmarks",
    "",
    "Every figure below was measured on the machine named in its section, by the command named in its heading",
    "(`npm run bench` runs them all, one after another, and rebuilds this file). These machines are shared and",
    "noisy: each benchmark compares its variants side by side in one run and reports medians and ratios.",
    "",
  ];
  for (const [name, b] of Object.entries(BENCHES)) {
    const p = join(ROOT, "bench/results", b.result);
    if (!existsSync(p)) {
      parts.push(`## ${name}`, "", "_Not run yet._", "");
      continue;
    }
    const text = readFileSync(p, "utf8").trim().replace(/^# /gm, "## ").replace(/^## (?!#)/gm, (m, offset) => (offset === 0 ? "## " : "### "));
    parts.push(text, "");
  }
  const notes = join(ROOT, "bench/NOTES.md");
  if (existsSync(notes)) parts.push(readFileSync(notes, "utf8").trim(), "");
  writeFileSync(join(ROOT, "BENCHMARKS.md"), parts.join("\n"));
}

const args = process.argv.slice(2);
if (!args.includes("--assemble")) {
  const names = args.length ? args : Object.keys(BENCHES);
  for (const n of names) {
    const b = BENCHES[n];
    if (!b) throw new Error(`unknown benchmark '${n}' (known: ${Object.keys(BENCHES).join(", ")})`);
    console.error(`\n== bench ${n}`);
    execFileSync("npx", ["tsx", join(ROOT, "bench", b.file), ...(b.args?.() ?? [])], { cwd: ROOT, stdio: "inherit" });
  }
}
assemble();
console.error("BENCHMARKS.md written");
