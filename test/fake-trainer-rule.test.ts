/**
 * The fixture trainer (test/fixtures/fake-trainer.mjs) stands in for the real one in the orchestrator's tests, so
 * the epoch it keeps, and where early stopping ends its final trainings, must follow the product's rule (core's
 * epochImproves, as bestEpochOf applies it) and not a rule of its own. Each case runs the fixture as the worker
 * does (a real child process, the spec on stdin) and replays the epochs it reported through core.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bestEpochOf, type SelectionMetric } from "@hypersweep/core";
import { ROOT } from "./helpers/stack.ts";

const dir = mkdtempSync(join(tmpdir(), "hs-fake-rule-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Message { type: string; epoch?: number; valLoss?: number; metrics?: Record<string, number>; bestEpoch?: number }

let n = 0;
async function runFixture(spec: Record<string, unknown>, env: Record<string, string>): Promise<Message[]> {
  const run = join(dir, String(n++));
  const child = spawn(process.execPath, [join(ROOT, "test/fixtures/fake-trainer.mjs")], {
    env: { ...process.env, FAKE_EPOCH_MS: "1", ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stdin.end(JSON.stringify({
    learningRate: 1e-3, augmentations: ["rotation"], architecture: "small_cnn", task: "binary", attempt: 1,
    schedule: { stepSize: 100, gamma: 1 }, checkpointDir: join(run, "ckpt"), outputDir: join(run, "out"), ...spec,
  }));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  expect(code).toBe(0);
  return out.trim().split("\n").map((l) => JSON.parse(l) as Message);
}

const METRICS: SelectionMetric[] = ["auc", "f1", "accuracy", "macroF1", "valLoss"];

describe("the fixture trainer keeps the epoch the product's rule keeps", () => {
  for (const curve of ["rise", "saturate", "peak"]) {
    for (const metric of METRICS) {
      it(`${curve} curve, ${metric}: search (all epochs) and final (early stopping with patience 2)`, async () => {
        for (const earlyStopping of [undefined, { patience: 2, minDelta: 0 }]) {
          const epochs = 9;
          const msgs = await runFixture({ epochs, selectionMetric: metric, ...(earlyStopping ? { earlyStopping, stage: "final" } : { stage: "search" }) }, { FAKE_CURVE: curve, FAKE_PEAK_EPOCH: "4" });
          const reported = msgs.filter((m) => m.type === "epoch").map((m) => ({ epoch: m.epoch!, valLoss: m.valLoss!, metrics: m.metrics! }));
          const result = msgs.find((m) => m.type === "result")!;
          const rule = bestEpochOf(reported, metric, { task: "binary", minDelta: 0, ...(earlyStopping ? { patience: earlyStopping.patience } : {}) });
          expect(result.bestEpoch).toBe(rule.bestEpoch);
          // Early stopping ends the run where the rule says, and only then.
          expect(reported.length).toBe(earlyStopping ? (rule.stoppedAt ?? epochs) : epochs);
        }
      });
    }
  }

  it("saturated metrics: the loss still falling decides (the last epoch), not the first epoch that reached the ceiling", async () => {
    const msgs = await runFixture({ epochs: 6, selectionMetric: "auc", stage: "search" }, { FAKE_CURVE: "saturate" });
    const epochs = msgs.filter((m) => m.type === "epoch");
    expect(epochs[1]!.metrics!.auc).toBe(epochs[5]!.metrics!.auc);
    expect(msgs.find((m) => m.type === "result")!.bestEpoch).toBe(6);
  });

  it("a peaked curve: a final training keeps the peak and stops `patience` epochs after it", async () => {
    const msgs = await runFixture({ epochs: 20, selectionMetric: "valLoss", stage: "final", earlyStopping: { patience: 3, minDelta: 0 } }, { FAKE_CURVE: "peak", FAKE_PEAK_EPOCH: "5" });
    expect(msgs.filter((m) => m.type === "epoch").map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(msgs.find((m) => m.type === "result")!.bestEpoch).toBe(5);
  });
});
