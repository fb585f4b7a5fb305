import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseManifest, readManifest } from "../src/index.ts";
import { tempDir } from "./helpers.ts";

const HEADER = "patient_id,file_name,modality,section,diagnosis,marks,split,lung_presence,origin,suitable";
const good = (over: Partial<Record<string, string>> = {}) => {
  const v = { patient_id: "P1", file_name: "a.png", modality: "ct", section: "axial", diagnosis: "covid19", marks: "false", split: "", lung_presence: "full", origin: "o1", suitable: "true", ...over };
  return [v.patient_id, v.file_name, v.modality, v.section, v.diagnosis, v.marks, v.split, v.lung_presence, v.origin, v.suitable].join(",");
};

describe("parseManifest", () => {
  it("parses valid rows, maps the paper's spellings to canonical tokens and keeps extra columns", () => {
    const csv = `Patient ID,File Name,MODALITY,Section,Diagnosis,Marks,Split,Lung-Presence,Origin,Suitable,Scanner\n` +
      `P1,img/a.png,CT,Axial,COVID-19,no,validation,full,https://x,yes,GE\n` +
      `P2,./b.jpg,X-ray,coronal,healthy chest,1,,partial,https://y,0,\n`;
    const { rows, problems } = parseManifest(csv);
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ row: 2, patientId: "P1", fileName: "img/a.png", modality: "ct", diagnosis: "covid19", split: "valid", suitable: true, meta: { scanner: "GE" } });
    expect(rows[1]).toMatchObject({ row: 3, fileName: "b.jpg", modality: "radiograph", diagnosis: "healthy", split: null, marks: true, lungPresence: "partial", suitable: false });
  });

  it("reports every bad value at once with its row, column, value and what was expected", () => {
    const csv = [HEADER, good(), good({ file_name: "b.png", diagnosis: "flu" }), good({ file_name: "c.png", modality: "mri", split: "holdout" }), good({ file_name: "d.png", marks: "maybe", patient_id: "" })].join("\n");
    const { rows, problems } = parseManifest(csv);
    expect(rows.map((r) => r.fileName)).toEqual(["a.png"]);
    const brief = problems.map((p) => [p.row, p.column, p.value, p.code]);
    expect(brief).toEqual([
      [3, "diagnosis", "flu", "invalid_value"],
      [4, "modality", "mri", "invalid_value"],
      [4, "split", "holdout", "invalid_value"],
      [5, "patient_id", "", "invalid_value"],
      [5, "marks", "maybe", "invalid_value"],
    ]);
    expect(problems[0]!.expected).toContain("healthy, covid19, bacterial, viral, fungal, ards");
    expect(problems[0]!.message).toMatch(/row 3, column diagnosis: "flu": expected one of/);
  });

  it("names a duplicate file name with the row that used it first", () => {
    const { problems } = parseManifest([HEADER, good(), good({ patient_id: "P2" }), good({ file_name: "./a.png" })].join("\n"));
    expect(problems.map((p) => [p.row, p.column, p.value, p.code])).toEqual([
      [3, "file_name", "a.png", "duplicate_file_name"],
      [4, "file_name", "a.png", "duplicate_file_name"],
    ]);
    expect(problems[0]!.expected).toContain("row 2");
  });

  it("refuses file names that leave the dataset", () => {
    const { problems } = parseManifest([HEADER, good({ file_name: "../etc/passwd" }), good({ file_name: "/abs.png" })].join("\n"));
    expect(problems.map((p) => [p.row, p.column, p.value, p.code])).toEqual([
      [2, "file_name", "../etc/passwd", "unsafe_path"],
      [3, "file_name", "/abs.png", "unsafe_path"],
    ]);
  });

  it("reports each missing required column on the header row and accepts a manifest without a split column", () => {
    const { problems } = parseManifest("patient_id,file_name,modality\nP1,a.png,ct\n");
    expect(problems.map((p) => p.column)).toEqual(["section", "diagnosis", "marks", "lung_presence", "origin", "suitable"]);
    expect(problems.every((p) => p.row === 1 && p.code === "missing_column")).toBe(true);
    const noSplit = parseManifest("patient_id,file_name,modality,section,diagnosis,marks,lung_presence,origin,suitable\nP1,a.png,ct,axial,viral,false,full,o,true\n");
    expect(noSplit.problems).toEqual([]);
    expect(noSplit.rows[0]!.split).toBeNull();
  });

  it("never throws, whatever the text, and every problem names what it expected (property)", () => {
    const cell = fc.oneof(fc.constantFrom("ct", "covid19", "axial", "true", "", "a.png", "../x", "train", "full"), fc.string({ maxLength: 6 }));
    const line = fc.array(cell, { minLength: 0, maxLength: 12 }).map((cs) => cs.join(","));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(line, { maxLength: 6 }).map((ls) => [HEADER, ...ls].join("\n"))), (text) => {
        const { rows, problems } = parseManifest(text);
        for (const p of problems) expect(p.expected.length).toBeGreaterThan(0);
        for (const r of rows) expect(r.row).toBeGreaterThanOrEqual(2);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a manifest with a header only", () => {
    expect(parseManifest(`${HEADER}\n`).problems.map((p) => p.code)).toEqual(["manifest_empty"]);
  });

  it("refuses a column given twice, naming it (the last one would silently win)", () => {
    const csv = `${HEADER},Patient ID\n${good()},P0\n${good({ file_name: "b.png", patient_id: "P2" })},P0\n`;
    const { rows, problems } = parseManifest(csv);
    expect(rows).toEqual([]);
    expect(problems.map((p) => [p.code, p.row, p.column, p.value])).toEqual([["duplicate_column", 1, "patient_id", "Patient ID"]]);
    expect(problems[0]!.message).toMatch(/column patient_id.*already column 1; column 11 repeats it/);
  });

  it("refuses a NUL byte in a cell, naming the row and column (Postgres cannot store it)", () => {
    const { rows, problems } = parseManifest([HEADER, good(), good({ file_name: "b.png", origin: "o\u0000x" }), good({ file_name: "c.png" })].join("\n"));
    expect(rows.map((r) => r.fileName)).toEqual(["a.png", "c.png"]);
    expect(problems.map((p) => [p.code, p.row, p.column, p.value])).toEqual([["invalid_value", 3, "origin", "o\\0x"]]);
    expect(JSON.stringify(problems)).not.toContain("\\u0000");
    const header = parseManifest(`${HEADER},sca\u0000nner\n${good()},GE\n`);
    expect(header.problems.map((p) => [p.row, p.column])).toEqual([[1, "column 11"]]);
  });

  it("stops reading at the row limit: a 100,000-row manifest is one problem, not 100,000 rows", async () => {
    const tmp = await tempDir("manifest");
    try {
      const file = join(tmp.path, "manifest.csv");
      const lines = [HEADER];
      for (let i = 0; i < 100_000; i++) lines.push(good({ file_name: `i${i}.png` }));
      await writeFile(file, lines.join("\n"));
      const capped = await readManifest(file, 50_000);
      expect(capped.rows).toEqual([]);
      expect(capped.problems.map((p) => [p.code, p.row, p.expected])).toEqual([["manifest_too_large", null, "at most 50000 image rows in manifest.csv (the most allowed)"]]);
      expect(parseManifest(lines.slice(0, 12).join("\n"), 10).problems.map((p) => p.code)).toEqual(["manifest_too_large"]);
      expect(parseManifest(lines.slice(0, 11).join("\n"), 10).rows).toHaveLength(10);
    } finally {
      await tmp.cleanup();
    }
  });
});
