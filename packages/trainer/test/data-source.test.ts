import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openTrialDataFor, TrialDataError } from "../src/index.ts";
import { makeSpec, removeTempDirs, tempDir } from "./fixtures/spec.ts";

afterAll(removeTempDirs);

const FIXTURE = path.join(import.meta.dirname, "fixtures", "synthetic-trial-data.ts");

describe("openTrialDataFor", () => {
  it("uses the module named by HYPERSWEEP_TRIAL_DATA_MODULE", async () => {
    const spec = makeSpec({ imageSize: 12 });
    const data = await openTrialDataFor(spec, { HYPERSWEEP_TRIAL_DATA_MODULE: FIXTURE });
    expect(data.imageSize).toBe(12); // the fixture was called with (spec.data, spec.imageSize)
    expect(data.classes).toEqual(spec.data.scenario.classes);
  });

  it("fails with reason `data` when the hook names a missing module or one without openTrialData", async () => {
    const missing = openTrialDataFor(makeSpec(), { HYPERSWEEP_TRIAL_DATA_MODULE: "/nonexistent/data.ts" });
    await expect(missing).rejects.toBeInstanceOf(TrialDataError);
    await expect(missing).rejects.toThrow(/cannot load the data module/);
    const dir = tempDir("hook");
    writeFileSync(path.join(dir, "empty.mjs"), "export const nothing = 1;\n");
    await expect(openTrialDataFor(makeSpec(), { HYPERSWEEP_TRIAL_DATA_MODULE: path.join(dir, "empty.mjs") })).rejects.toThrow(
      /does not export a function openTrialData/,
    );
  });

  it("without the hook opens @hypersweep/data, whose failure (no such dataset) is reason `data` naming the version", async () => {
    const spec = makeSpec();
    const err = await openTrialDataFor(spec, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrialDataError);
    expect((err as TrialDataError).reason).toBe("data");
    expect((err as Error).message).toContain(spec.data.datasetVersionId);
  });
});
