import { execFileSync } from "node:child_process";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetInvalidError, importDataset, synthDataset, type Problem, type VersionManifest } from "../src/index.ts";
import { listDir, tempDir } from "./helpers.ts";

let tmp: Awaited<ReturnType<typeof tempDir>>;
let clean: string; // a valid synthetic dataset
let broken: string; // the same generator with broken files
let brokenList: Awaited<ReturnType<typeof synthDataset>>["broken"];

beforeAll(async () => {
  tmp = await tempDir("import");
  clean = join(tmp.path, "clean");
  broken = join(tmp.path, "broken");
  await synthDataset(clean, { images: 80, size: 24, seed: 4 });
  brokenList = (await synthDataset(broken, { images: 40, size: 24, seed: 9, broken: 4 })).broken;
});
afterAll(() => tmp?.cleanup());

async function rejected(source: string, dataRoot: string): Promise<Problem[]> {
  const err = await importDataset(source, { dataRoot }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DatasetInvalidError);
  return (err as DatasetInvalidError).problems;
}

/** Rewrites manifest.csv of a copy of the clean dataset through fn(lines). */
async function variant(name: string, fn: (lines: string[][]) => void): Promise<string> {
  const dir = join(tmp.path, name);
  await cp(clean, dir, { recursive: true });
  const lines = (await readFile(join(dir, "manifest.csv"), "utf8")).trim().split("\n").map((l) => l.split(","));
  fn(lines);
  await writeFile(join(dir, "manifest.csv"), lines.map((l) => l.join(",")).join("\n"));
  return dir;
}

describe("importDataset", () => {
  it("rejects a dataset with broken files, naming every row, column and file, and leaves nothing on disk", async () => {
    const root = join(tmp.path, "root-broken");
    const problems = await rejected(broken, root);
    expect(problems.map((p) => [p.row, p.column, p.value])).toEqual(brokenList.map((b) => [b.row, "file_name", b.fileName]));
    const byKind = Object.fromEntries(brokenList.map((b, i) => [b.kind, problems[i]!]));
    expect(byKind.zero_bytes!.expected).toMatch(/zero-byte/);
    expect(byKind.truncated!.expected).toMatch(/complete/);
    expect(byKind.not_an_image!.code).toBe("undecodable_image");
    expect(byKind.missing!.code).toBe("missing_file");
    expect(await listDir(join(root, "versions"))).toEqual([]);
    expect(await listDir(join(root, "tmp"))).toEqual([]);
  });

  it("with excludeBadRows imports the good rows and reports the excluded ones", async () => {
    const root = join(tmp.path, "root-exclude");
    const r = await importDataset(broken, { dataRoot: root, excludeBadRows: true });
    expect(r.rows).toHaveLength(36);
    expect(r.summary.excluded.map((e) => e.row)).toEqual(brokenList.map((b) => b.row));
    expect(r.rows.some((x) => brokenList.some((b) => b.fileName === x.fileName))).toBe(false);
    expect(await listDir(join(root, "versions"))).toEqual([r.contentHash]);
    expect(await listDir(join(root, "tmp"))).toEqual([]);
  });

  it("imports the same content twice (directory, .tar.gz, .zip) as the same version", async () => {
    const root = join(tmp.path, "root-same");
    const a = await importDataset(clean, { dataRoot: root });
    expect(a.created).toBe(true);
    const tgz = join(tmp.path, "clean.tar.gz");
    await tar.c({ gzip: true, file: tgz, cwd: tmp.path }, ["clean"]);
    const zip = join(tmp.path, "clean.zip");
    execFileSync("zip", ["-qr", zip, "."], { cwd: clean });
    const progress: string[] = [];
    const b = await importDataset(tgz, { dataRoot: root, onProgress: (p) => progress.push(p.phase) });
    const c = await importDataset(zip, { dataRoot: root });
    expect([b.contentHash, c.contentHash]).toEqual([a.contentHash, a.contentHash]);
    expect([b.created, c.created]).toEqual([false, false]);
    expect(b.storagePath).toBe(a.storagePath);
    expect(progress).toContain("extract");
    expect(progress).toContain("validate");
    expect(await listDir(join(root, "versions"))).toEqual([a.contentHash]);
    const manifest = JSON.parse(await readFile(join(a.storagePath, "manifest.json"), "utf8")) as VersionManifest;
    expect(manifest.rows).toHaveLength(80);
    expect(manifest.rows.every((r) => r.split !== null && r.sha256.length === 64)).toBe(true);
    const stored = await readdir(join(a.storagePath, "images"), { recursive: true });
    expect(manifest.rows.every((r) => stored.includes(r.fileName))).toBe(true);
    expect(a.summary.imageCount).toBe(80);
    expect(a.summary.bySplit.train + a.summary.bySplit.valid + a.summary.bySplit.test).toBe(80);
    expect(Object.values(a.summary.table).reduce((s, m) => s + m.ct!.total! + m.radiograph!.total!, 0)).toBe(80);
  });

  it("two concurrent imports of the same content publish one version and both succeed", async () => {
    const root = join(tmp.path, "root-race");
    const [a, b] = await Promise.all([importDataset(clean, { dataRoot: root }), importDataset(clean, { dataRoot: root })]);
    expect(a.contentHash).toBe(b.contentHash);
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
    expect(await listDir(join(root, "versions"))).toEqual([a.contentHash]);
    expect(await listDir(join(root, "tmp"))).toEqual([]);
  });

  it("the split seed decides the computed split, and a different split is a different version", async () => {
    const root = join(tmp.path, "root-seed");
    const runs = await Promise.all([0, 1, 2, 3].map((splitSeed) => importDataset(clean, { dataRoot: root, splitSeed })));
    const splits = runs.map((r) => r.rows.map((x) => x.split).join(","));
    expect(new Set(splits).size).toBeGreaterThan(1);
    for (let i = 0; i < runs.length; i++) {
      for (let j = 0; j < i; j++) expect(runs[i]!.contentHash === runs[j]!.contentHash).toBe(splits[i] === splits[j]);
    }
    const again = await importDataset(clean, { dataRoot: root, splitSeed: 2 });
    expect(again.rows.map((x) => x.split).join(",")).toBe(splits[2]);
  });

  it("rejects the same image under two patients, naming both rows", async () => {
    const dir = await variant("dup-patients", (l) => {
      l[3]![1] = l[2]![1]!.replace(/\.(\w+)$/, "-copy.$1");
      l[3]![0] = "PX";
    });
    const src = (await readFile(join(dir, "manifest.csv"), "utf8")).split("\n")[2]!.split(",")[1]!;
    await cp(join(dir, src), join(dir, src.replace(/\.(\w+)$/, "-copy.$1")));
    const problems = await rejected(dir, join(tmp.path, "root-dup"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: "duplicate_content_patients", row: 4, column: "patient_id", value: "PX" });
    expect(problems[0]!.expected).toContain("row 3");
  });

  it("rejects a given split that leaks a patient, naming the patient", async () => {
    let patient = "";
    let leakRow = 0;
    const dir = await variant("leak", (l) => {
      for (let i = 1; i < l.length; i++) l[i]![6] = "train";
      // The first patient with at least two images gets one of them in test.
      const i = l.findIndex((x, k) => k > 1 && x[0] === l[k - 1]![0]);
      [patient, leakRow] = [l[i]![0]!, i + 1];
      l[i]![6] = "test";
    });
    const problems = await rejected(dir, join(tmp.path, "root-leak"));
    expect(problems.map((p) => [p.code, p.row, p.column, p.value])).toEqual([["patient_leakage", leakRow, "split", "test"]]);
    expect(problems[0]!.expected).toContain(`patient ${patient}`);
  });

  it("rejects an image whose content does not match its extension", async () => {
    const dir = await variant("ext", (l) => {
      l[1]![1] = "images/fake.jpg";
    });
    await writeFile(join(dir, "images/fake.jpg"), await sharp({ create: { width: 8, height: 8, channels: 3, background: "#808080" } }).png().toBuffer());
    const problems = await rejected(dir, join(tmp.path, "root-ext"));
    expect(problems).toMatchObject([{ code: "wrong_extension", row: 2, column: "file_name", value: "images/fake.jpg" }]);
    expect(problems[0]!.expected).toContain("found png data");
  });

  it("refuses an archive that unpacks beyond limits.maxTotalBytes and leaves nothing behind", async () => {
    const root = join(tmp.path, "root-bomb");
    const tgz = join(tmp.path, "clean-bomb.tar.gz");
    await tar.c({ gzip: true, file: tgz, cwd: tmp.path }, ["clean"]);
    await expect(importDataset(tgz, { dataRoot: root, limits: { maxTotalBytes: 10_000 } })).rejects.toThrow(/unpacks to more than 9.8 KiB/);
    const zip = join(tmp.path, "clean-bomb.zip");
    execFileSync("zip", ["-qr", zip, "."], { cwd: clean });
    await expect(importDataset(zip, { dataRoot: root, limits: { maxTotalBytes: 10_000 } })).rejects.toThrow(/unpacks to more than 9.8 KiB/);
    expect(await listDir(join(root, "tmp"))).toEqual([]);
    expect(await listDir(join(root, "versions"))).toEqual([]);
  });

  it("reports the file name of a row excluded for a bad value", async () => {
    const dir = await variant("badvalue", (l) => {
      l[5]![4] = "flu";
    });
    const fileName = (await readFile(join(dir, "manifest.csv"), "utf8")).split("\n")[5]!.split(",")[1];
    const r = await importDataset(dir, { dataRoot: join(tmp.path, "root-badvalue"), excludeBadRows: true });
    expect(r.summary.excluded).toMatchObject([{ row: 6, fileName, problems: [{ code: "invalid_value", column: "diagnosis", value: "flu" }] }]);
    expect(r.rows).toHaveLength(79);
  });

  it("rejects a source without manifest.csv", async () => {
    const problems = await rejected(join(clean, "images"), join(tmp.path, "root-none"));
    expect(problems.map((p) => p.code)).toEqual(["manifest_missing"]);
  });
});
