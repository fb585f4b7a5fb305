/**
 * `npm run lint` holds the architecture: each rule must fail when broken. The test copies the source tree (the
 * source directories and the configuration; node_modules linked, with the workspace packages pointing into the
 * copy), plants forbidden imports as new files, runs the real `npm run lint` there, and expects it to fail naming
 * each rule at the planted file. The unplanted copy passes.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerImports } from "./lint/named-imports.ts";
import { ROOT } from "./helpers/stack.ts";

const run = promisify(execFile);

function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), "hs-lint-"));
  for (const d of ["apps", "packages", "test", "bench"]) {
    cpSync(join(ROOT, d), join(dir, d), { recursive: true, filter: (src) => !/[/\\](node_modules|\.hypersweep)$/.test(src) });
  }
  for (const f of [".dependency-cruiser.cjs", "tsconfig.json", "package.json"]) cpSync(join(ROOT, f), join(dir, f));
  // npm packages: links to the real ones; our workspace packages: the same relative links, so into the copy.
  mkdirSync(join(dir, "node_modules/@hypersweep"), { recursive: true });
  for (const e of readdirSync(join(ROOT, "node_modules"))) {
    if (e !== "@hypersweep") symlinkSync(join(ROOT, "node_modules", e), join(dir, "node_modules", e));
  }
  for (const e of readdirSync(join(ROOT, "node_modules/@hypersweep"))) {
    symlinkSync(readlinkSync(join(ROOT, "node_modules/@hypersweep", e)), join(dir, "node_modules/@hypersweep", e));
  }
  return dir;
}

function plant(dir: string, files: Record<string, string>): void {
  for (const [f, src] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), `${src}\nexport {};\n`);
  }
}

async function lint(dir: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run("npm", ["run", "--silent", "lint"], { cwd: dir, maxBuffer: 64 << 20 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

/** [rule, planted file, its content] — one breach of each rule the lint claims to hold. */
const PLANTS: Array<[string, string, string]> = [
  ["api-no-training", "apps/api/src/planted-tfjs.ts", `import "@tensorflow/tfjs";`],
  ["api-no-training", "apps/api/src/planted-trainer.ts", `import "@hypersweep/trainer";`],
  // Transitively: the API imports a data module that is allowed by name but imports tfjs.
  ["api-no-training", "apps/api/src/planted-via.ts", `import "../../../packages/data/src/planted-uses-tfjs.ts";`],
  ["pure-packages-no-io", "packages/core/src/planted-pg.ts", `import "pg";`],
  ["pure-packages-no-io", "packages/metrics/src/planted-sharp.ts", `import "sharp";`],
  ["pure-packages-no-io", "packages/core/src/planted-db.ts", `import "@hypersweep/db";`],
  ["pure-packages-no-node-io", "packages/metrics/src/planted-fs.ts", `import "node:fs";`],
  ["trainer-no-orchestration", "packages/trainer/src/planted-db.ts", `import "@hypersweep/db";`],
  ["trainer-no-orchestration", "packages/trainer/src/planted-queue.ts", `import "@hypersweep/queue";`],
  ["trainer-no-orchestration", "packages/trainer/src/planted-pg.ts", `import "pg";`],
  ["trainer-no-orchestration", "packages/trainer/src/planted-bullmq.ts", `import "bullmq";`],
  ["trainer-no-orchestration", "packages/trainer/src/planted-ioredis.ts", `import "ioredis";`],
  ["cli-pure-http-client", "apps/cli/src/planted-db.ts", `import "@hypersweep/db";`],
  ["cli-pure-http-client", "apps/cli/src/planted-pg.ts", `import "pg";`],
  ["cli-pure-http-client", "apps/cli/src/planted-trainer.ts", `import "@hypersweep/trainer";`],
  ["cli-pure-http-client", "apps/cli/src/planted-api.ts", `import "../../api/src/main.ts";`],
  ["producer-no-consumer", "packages/queue/src/planted-worker-app.ts", `import "../../../apps/worker/src/index.ts";`],
  ["sql-only-in-db", "apps/api/src/planted-prisma.ts", `import "@prisma/client";`],
  ["sql-only-in-db", "apps/worker/src/planted-pg.ts", `import "pg";`],
  ["packages-not-apps", "packages/data/src/planted-app.ts", `import "../../../apps/cli/src/client.ts";`],
  ["no-circular", "packages/core/src/planted-cycle-a.ts", `import "./planted-cycle-b.ts";`],
];
const HELPERS = {
  "packages/data/src/planted-uses-tfjs.ts": `import "@tensorflow/tfjs-core";`,
  "packages/core/src/planted-cycle-b.ts": `import "./planted-cycle-a.ts";`,
};

describe("npm run lint", () => {
  const dirs: string[] = [];
  let clean: { code: number; out: string };
  let planted: { code: number; out: string };
  let worker: { code: number; out: string };
  beforeAll(async () => {
    const [a, b, c] = [copyTree(), copyTree(), copyTree()];
    dirs.push(a, b, c);
    plant(b, { ...HELPERS, ...Object.fromEntries(PLANTS.map(([, f, src]) => [f, src])) });
    plant(c, { "packages/queue/src/planted-worker.ts": `import { Queue, Worker } from "bullmq";\nexport const w = [Queue, Worker];` });
    // One after another: each is a whole dependency-cruiser run.
    clean = await lint(a);
    planted = await lint(b);
    worker = await lint(c);
  }, 240_000);
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("passes on the unplanted tree", () => {
    expect(clean.out).toContain("no dependency violations found");
    expect(clean.code).toBe(0);
  });

  for (const [rule, file] of PLANTS) {
    it(`fails naming ${rule} for ${file}`, () => {
      expect(planted.code).not.toBe(0);
      const lines = planted.out.split("\n").filter((l) => l.includes(`error ${rule}: ${file} →`));
      expect(lines, planted.out.slice(0, 4000)).not.toEqual([]);
    });
  }

  it("flags nothing that was not planted", () => {
    const offenders = planted.out.split("\n").filter((l) => /^\s*error /.test(l) && !/planted/.test(l));
    expect(offenders).toEqual([]);
  });

  it("fails naming producer-no-bullmq-worker when the queue package imports BullMQ's Worker", () => {
    expect(worker.code).not.toBe(0);
    expect(worker.out).toContain("error producer-no-bullmq-worker: packages/queue/src/planted-worker.ts → bullmq (Worker)");
  });
});

describe("the named-import check", () => {
  it("sees Worker however it is imported from bullmq, and lets Queue through", () => {
    expect(workerImports(`import { Queue, type ConnectionOptions } from "bullmq";`)).toEqual([]);
    expect(workerImports(`import { Worker as W } from "bullmq";`)).toEqual(["bullmq (Worker)"]);
    expect(workerImports(`import * as b from "bullmq";`)).toEqual(["bullmq (namespace import b)"]);
    expect(workerImports(`export { Worker } from "bullmq";`)).toEqual(["bullmq (re-exports Worker)"]);
    expect(workerImports(`export * from "bullmq";`)).toEqual(["bullmq (export *)"]);
    expect(workerImports(`const m = await import("bullmq");`)).toEqual(["bullmq (dynamic import)"]);
    expect(workerImports(`import { Worker } from "bullmq/dist/cjs/classes/worker.js";`)).toEqual(["bullmq/dist/cjs/classes/worker.js (a worker module)", "bullmq/dist/cjs/classes/worker.js (Worker)"]);
  });
});
