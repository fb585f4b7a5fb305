/** Evaluate mode of the trainer process: a spec that asks for it without saying what to score is a bad spec. */
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { TrainerMessage } from "@hypersweep/core";
import { EXIT_CODES, runTrainerProcess } from "../src/index.ts";
import { removeTempDirs, specInput } from "./fixtures/spec.ts";

afterAll(removeTempDirs);

async function run(spec: unknown) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const lines: string[] = [];
  stdout.setEncoding("utf8").on("data", (c: string) => lines.push(...c.split("\n").filter(Boolean)));
  stdin.end(JSON.stringify(spec));
  const code = await runTrainerProcess({ stdin, stdout, stderr: new PassThrough(), env: {}, signal: new AbortController().signal });
  return { code, messages: lines.map((l) => TrainerMessage.parse(JSON.parse(l))) };
}

describe("the trainer's evaluate mode", () => {
  it("refuses stage evaluate without an evaluate block, naming it, before loading a backend", async () => {
    const r = await run(specInput({ stage: "evaluate" }));
    expect(r.code).toBe(EXIT_CODES.badSpec);
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toMatchObject({ type: "error", reason: "bad_spec" });
    expect((r.messages[0] as { message: string }).message).toMatch(/evaluate block/);
  });
});
