/**
 * For evaluation tests: a final model through the real API, and a second dataset that shares chosen images
 * (byte for byte, under other names and patients) with the first, so that removal counts are known exactly.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { synthDataset } from "@hypersweep/data";
import { importViaApi } from "../../apps/cli/src/commands/datasets.ts";
import { eventually, type Stack } from "./stack.ts";

export interface Row {
  fileName: string;
  sha256: string;
  split: "train" | "valid" | "test";
  modality: "ct" | "radiograph";
  diagnosis: string;
  lungPresence: string;
  section: string;
}

export async function versionRows(s: Stack, versionId: string): Promise<Row[]> {
  const v = await s.db.datasetVersion.findUniqueOrThrow({ where: { id: versionId }, select: { manifest: true } });
  const m = v.manifest as unknown;
  return (Array.isArray(m) ? m : (m as { rows: Row[] }).rows) as Row[];
}

/** Submits a one-trial sweep, lets it finish, runs (or finds) its final training; returns the final trial's id. */
export async function finalModel(s: Stack, dataset: string, scenario: { modality: string; task: string }, overrides: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<{ sweepId: string; finalId: string; searchId: string }> {
  const res = await s.http("POST", "/v1/sweeps", {
    dataset, scenario, architectures: ["small_cnn"], seed: 3, ...extra,
    overrides: { learningRates: [1e-3], subsetsPerRate: 1, searchEpochs: 2, finalEpochs: 2, patience: 1, imageSize: 16, ...overrides },
  });
  if (res.status !== 201) throw new Error(`sweep refused: ${JSON.stringify(res.body)}`);
  const sweepId = res.body.id as string;
  await eventually(async () => {
    const t = await s.http("GET", `/v1/sweeps/${sweepId}/trials`);
    return t.body.trials.some((x: { stage: string; status: string }) => x.stage === "search" && x.status === "succeeded");
  }, 120_000, 200);
  await eventually(async () => {
    const r = await s.http("POST", `/v1/sweeps/${sweepId}/final`, {});
    return r.status < 300;
  }, 60_000, 200);
  const trials = await eventually(async () => {
    const t = await s.http("GET", `/v1/sweeps/${sweepId}/trials`);
    const f = t.body.trials.find((x: { stage: string }) => x.stage === "final");
    if (f?.status === "failed") throw new Error(`final training failed: ${f.error}`);
    return f?.status === "succeeded" ? t.body.trials : null;
  }, 180_000, 250);
  return {
    sweepId,
    finalId: trials.find((x: { stage: string }) => x.stage === "final").id,
    searchId: trials.find((x: { stage: string }) => x.stage === "search").id,
  };
}

/**
 * Imports (through the API) a synthetic dataset with its own split plus a copy of each `shared` image of the
 * first dataset as a test row of a new patient. With `ownTest: false`, the synthetic rows' test split is left out.
 */
export async function datasetSharing(s: Stack, name: string, firstDir: string, shared: Row[], opts: { seed?: number; images?: number; ownTest?: boolean } = {}) {
  const dir = join(s.tmp, `synth-${name}`);
  await synthDataset(dir, { images: opts.images ?? 40, size: 24, seed: opts.seed ?? 99, withSplit: true });
  const lines = readFileSync(join(dir, "manifest.csv"), "utf8").trim().split("\n");
  const kept = opts.ownTest === false ? lines.filter((l, i) => i === 0 || l.split(",")[6] !== "test") : lines;
  shared.forEach((r, i) => {
    const file = `images/shared${i}${extname(r.fileName)}`;
    copyFileSync(join(firstDir, r.fileName), join(dir, file));
    kept.push([`S${i}`, file, r.modality, r.section, r.diagnosis, "false", "test", r.lungPresence, `https://example.org/shared/${i}`, "true"].join(","));
  });
  writeFileSync(join(dir, "manifest.csv"), `${kept.join("\n")}\n`);
  const imported = await importViaApi(dir, { url: s.url, apiKey: s.team.apiKey, name, progress: false });
  return { versionId: imported.version.id as string, dir };
}

export async function evaluationDone(s: Stack, id: string, ms = 120_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/evaluations/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms, 200);
}
