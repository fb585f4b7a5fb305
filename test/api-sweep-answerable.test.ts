/** Sweeps that cannot give an answer, or cost past the server's bounds, are refused with the reason (400). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiEnv, ConfigError, parseEnv } from "@hypersweep/config";
import type { Prisma } from "@hypersweep/db";
import { startStack, sweepBody, type Stack } from "./helpers/stack.ts";

type Row = { modality: string; diagnosis: string; split: string; lungPresence: string };

describe("API: sweeps that cannot give an answer", () => {
  let s: Stack;
  let rows: Row[];
  beforeAll(async () => {
    s = await startStack("answerable");
    const v = await s.db.datasetVersion.findUniqueOrThrow({ where: { id: s.dataset.versionId } });
    rows = v.manifest as unknown as Row[];
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A copy of the stack's dataset whose rows are changed by `edit` (as if imported with another split). */
  async function variant(name: string, edit: (r: Row) => Row): Promise<string> {
    const src = await s.db.datasetVersion.findUniqueOrThrow({ where: { id: s.dataset.versionId } });
    const ds = await s.db.dataset.create({ data: { teamId: s.team.id, name } });
    await s.db.datasetVersion.create({
      data: { datasetId: ds.id, contentHash: `${src.contentHash}-${name}`, storagePath: src.storagePath, imageCount: src.imageCount, summary: src.summary as Prisma.InputJsonValue, manifest: rows.map((r) => edit({ ...r })) as unknown as Prisma.InputJsonValue },
    });
    return ds.id;
  }
  const ctCount = (split: string, covid: boolean) => rows.filter((r) => r.modality === "ct" && r.lungPresence === "full" && r.split === split && (r.diagnosis === "covid19") === covid).length;

  it("refuses a binary scenario with no COVID-19 image in validation, giving the counts, and stores nothing", async () => {
    expect(ctCount("valid", true)).toBeGreaterThan(0); // the stack's own dataset is answerable
    const id = await variant("no-valid-covid", (r) => (r.diagnosis === "covid19" && r.split === "valid" ? { ...r, split: "train" } : r));
    const before = await s.db.sweep.count();
    const r = await s.http("POST", "/v1/sweeps", sweepBody(id));
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("SCENARIO_INVALID");
    expect(r.body.message).toContain("AUC needs both classes");
    expect(r.body.message).toContain(`validation has ${ctCount("valid", false)} other, 0 covid19`);
    expect(r.body.message).not.toContain("test has"); // the test split is fine here
    expect(r.body.issues).toEqual([{ path: "scenario", message: `validation has ${ctCount("valid", false)} other, 0 covid19` }]);
    expect(await s.db.sweep.count()).toBe(before);
  });

  it("refuses one with no COVID-19 image in test", async () => {
    const id = await variant("no-test-covid", (r) => (r.diagnosis === "covid19" && r.split === "test" ? { ...r, split: "train" } : r));
    const r = await s.http("POST", "/v1/sweeps", sweepBody(id));
    expect(r.status).toBe(400);
    expect(r.body.message).toContain(`test has ${ctCount("test", false)} other, 0 covid19`);
  });

  it("applies minPerClass to binary tasks: a class under it is named with its count", async () => {
    const covid = rows.filter((r) => r.modality === "ct" && r.lungPresence === "full" && r.diagnosis === "covid19").length;
    const refused = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { scenario: { modality: "ct", task: "binary", minPerClass: covid + 1 } }));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("SCENARIO_INVALID");
    expect(refused.body.message).toContain(`covid19: ${covid} image(s), fewer than minPerClass (${covid + 1})`);
    const kept = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { scenario: { modality: "ct", task: "binary", minPerClass: covid } }));
    expect(kept.status).toBe(201);
    expect(kept.body.scenario.minPerClass).toBe(covid);
  });

  it("refuses a sweep past the server's bounds, naming every field and the variable that raises it", async () => {
    const r = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { learningRates: [0.1, 2], batchSize: 2048, imageSize: 1536, searchEpochs: 600, finalEpochs: 501 } }));
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("SPEC_INVALID");
    const byPath = Object.fromEntries(r.body.issues.map((i: { path: string; message: string }) => [i.path, i.message]));
    expect(Object.keys(byPath).sort()).toEqual(["overrides.batchSize", "overrides.finalEpochs", "overrides.imageSize", "overrides.learningRates.1", "overrides.searchEpochs"]);
    expect(byPath["overrides.learningRates.1"]).toContain("limit of 1 ");
    expect(byPath["overrides.learningRates.1"]).toContain("HYPERSWEEP_MAX_LEARNING_RATE");
    expect(byPath["overrides.batchSize"]).toContain("HYPERSWEEP_MAX_BATCH_SIZE");
    expect(byPath["overrides.imageSize"]).toContain("limit of 1024");
    expect(byPath["overrides.searchEpochs"]).toContain("HYPERSWEEP_MAX_EPOCHS");
    const perArch = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { batchSize: { small_cnn: 1025 } } }));
    expect(perArch.body.issues.map((i: { path: string }) => i.path)).toEqual(["overrides.batchSize.small_cnn"]);
    // At the bounds is fine.
    const edge = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { learningRates: [1], batchSize: 1024, imageSize: 1024, searchEpochs: 500, finalEpochs: 500 } }));
    expect(edge.status).toBe(201);
  });
});

describe("API: an operator raises the bounds", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack("bounds-raised", { apiEnv: { HYPERSWEEP_MAX_IMAGE_SIZE: "2048", HYPERSWEEP_MAX_EPOCHS: "1000" } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("accepts what the raised bounds allow, and still refuses what the others do not", async () => {
    const ok = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { imageSize: 1536, searchEpochs: 800 } }));
    expect(ok.status).toBe(201);
    expect(ok.body.spec.imageSize).toBe(1536);
    const lr = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { learningRates: [5] } }));
    expect(lr.status).toBe(400);
    expect(lr.body.issues[0].path).toBe("overrides.learningRates.0");
  });

  it("cannot raise a bound past the schema's absolute cap: the process refuses to start, naming the variable", () => {
    expect(() => parseEnv(apiEnv, { HYPERSWEEP_MAX_IMAGE_SIZE: "4096" })).toThrow(ConfigError);
    expect(() => parseEnv(apiEnv, { HYPERSWEEP_MAX_IMAGE_SIZE: "4096" })).toThrow(/HYPERSWEEP_MAX_IMAGE_SIZE/);
    expect(parseEnv(apiEnv, {}).HYPERSWEEP_MAX_BATCH_SIZE).toBe(1024);
  });
});
