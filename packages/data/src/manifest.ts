import { posix } from "node:path";
import { createReadStream } from "node:fs";
import { parse as parseStream } from "csv-parse";
import { parse } from "csv-parse/sync";
import { problem, type Problem } from "./errors.ts";
import {
  DIAGNOSES,
  LUNG_PRESENCE,
  MODALITIES,
  SECTIONS,
  SPLITS,
  type Diagnosis,
  type LungPresence,
  type ManifestRow,
  type Modality,
  type Section,
  type Split,
} from "./schema.ts";

/** The standard columns, in the order the paper's Table 3 lists them. `split` may be absent or empty. */
export const MANIFEST_COLUMNS = [
  "patient_id",
  "file_name",
  "modality",
  "section",
  "diagnosis",
  "marks",
  "split",
  "lung_presence",
  "origin",
  "suitable",
] as const;
type Column = (typeof MANIFEST_COLUMNS)[number];
const OPTIONAL_COLUMNS: ReadonlySet<Column> = new Set(["split"]);

/** Spellings seen in real manifests (including the paper's own) → canonical tokens. Keys are lower-case. */
const SYNONYMS: Record<string, Record<string, string>> = {
  modality: { ct: "ct", "ct scan": "ct", radiograph: "radiograph", "x-ray": "radiograph", xray: "radiograph", cxr: "radiograph" },
  diagnosis: {
    "healthy chest": "healthy",
    normal: "healthy",
    "covid-19": "covid19",
    covid: "covid19",
    "bacterial pneumonia": "bacterial",
    "viral pneumonia": "viral",
    "fungal pneumonia": "fungal",
  },
  split: { validation: "valid", val: "valid" },
  lung_presence: { entire: "full", partly: "partial", invisible: "none" },
};
const BOOLEANS: Record<string, boolean> = { true: true, yes: true, "1": true, y: true, false: false, no: false, "0": false, n: false };

/** "Patient ID", "patient-id" and "PATIENT_ID" all name the column patient_id. */
export function normaliseHeader(h: string): string {
  return h.trim().toLowerCase().replace(/[\s-]+/g, "_");
}

export interface ParsedManifest {
  rows: ManifestRow[];
  problems: Problem[];
  /** The file_name cell of every data row by row number, rejected rows included (for reports). */
  fileNames: Map<number, string>;
}

/** Cells longer than this end the parse (a manifest row is a few hundred bytes; this bounds memory). */
const MAX_RECORD_CHARS = 64 * 1024;
const CSV_OPTIONS = { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true, max_record_size: MAX_RECORD_CHARS } as const;

/**
 * Parses manifest.csv text. Never throws on bad content: every problem is collected (row, column, value,
 * expected) so a team fixes its manifest in one pass. Rows with any problem are left out of `rows`.
 */
export function parseManifest(csvText: string, maxRows = Infinity): ParsedManifest {
  let records: string[][];
  try {
    records = parse(csvText, Number.isFinite(maxRows) ? { ...CSV_OPTIONS, to: maxRows + 2 } : CSV_OPTIONS) as string[][];
  } catch (err) {
    return invalidCsv(err);
  }
  return parseRecords(records, maxRows);
}

/**
 * Reads manifest.csv from disk as a stream: at most `maxRows` data rows are kept (the parse stops at the first
 * row past it), so a huge manifest costs neither memory nor time.
 */
export async function readManifest(path: string, maxRows = Infinity): Promise<ParsedManifest> {
  const records: string[][] = [];
  const input = createReadStream(path);
  const parser = input.pipe(parseStream({ ...CSV_OPTIONS }));
  try {
    for await (const record of parser) {
      records.push(record as string[]);
      if (records.length > maxRows + 1) break;
    }
  } catch (err) {
    return invalidCsv(err);
  } finally {
    input.destroy();
    parser.destroy();
  }
  return parseRecords(records, maxRows);
}

function invalidCsv(err: unknown): ParsedManifest {
  const msg = (err instanceof Error ? err.message : String(err)).replace(/(\/[^\s'"`:,]+)+/g, (p) => p.split("/").pop()!);
  return { rows: [], problems: [problem({ code: "manifest_empty", row: null, column: null, value: null, expected: `valid CSV (${msg})` })], fileNames: new Map() };
}

function parseRecords(records: string[][], maxRows: number): ParsedManifest {
  if (records.length === 0) {
    return { rows: [], problems: [problem({ code: "manifest_empty", row: null, column: null, value: null, expected: "a header row and at least one image row" })], fileNames: new Map() };
  }
  if (records.length - 1 > maxRows) {
    const p = problem({ code: "manifest_too_large", row: null, column: null, value: null, expected: `at most ${maxRows} image rows in manifest.csv (the most allowed)` });
    return { rows: [], problems: [p], fileNames: new Map() };
  }
  const header = records[0]!.map(normaliseHeader);
  const problems: Problem[] = headerProblems(records[0]!, header);
  if (problems.length > 0) return { rows: [], problems, fileNames: new Map() };
  if (records.length === 1) {
    problems.push(problem({ code: "manifest_empty", row: null, column: null, value: null, expected: "at least one image row" }));
  }
  const rows: ManifestRow[] = [];
  const fileNames = new Map<number, string>();
  const seen = new Map<string, number>();
  for (let i = 1; i < records.length; i++) {
    const rowNo = i + 1;
    const cells = Object.fromEntries(header.map((h, j) => [h, records[i]![j] ?? ""]));
    fileNames.set(rowNo, (cells.file_name ?? "").replaceAll("\0", ""));
    const rowProblems: Problem[] = [];
    const nul = header.filter((h) => cells[h]!.includes("\0"));
    for (const column of nul) {
      rowProblems.push(problem({ code: "invalid_value", row: rowNo, column, value: cells[column]!.replaceAll("\0", "\\0"), expected: "text without NUL (0x00) bytes" }));
    }
    const parsed = nul.length > 0 ? null : parseRow(rowNo, cells, header, rowProblems);
    if (parsed) {
      const first = seen.get(parsed.fileName);
      if (first !== undefined) {
        rowProblems.push(
          problem({ code: "duplicate_file_name", row: rowNo, column: "file_name", value: parsed.fileName, expected: `a file name not already used (row ${first})` }),
        );
      } else seen.set(parsed.fileName, rowNo);
    }
    problems.push(...rowProblems);
    if (parsed && rowProblems.length === 0) rows.push(parsed);
  }
  return { rows, problems, fileNames };
}

/** Missing, duplicated or NUL-carrying column names: the whole manifest is refused for any of them. */
function headerProblems(raw: string[], header: string[]): Problem[] {
  const problems: Problem[] = [];
  header.forEach((h, j) => {
    if (h.includes("\0")) problems.push(problem({ code: "invalid_value", row: 1, column: `column ${j + 1}`, value: raw[j]!.replaceAll("\0", "\\0"), expected: "a column name without NUL (0x00) bytes" }));
  });
  const firstAt = new Map<string, number>();
  header.forEach((h, j) => {
    const first = firstAt.get(h);
    if (first === undefined) firstAt.set(h, j);
    else if (h !== "") {
      problems.push(problem({ code: "duplicate_column", row: 1, column: h, value: raw[j]!, expected: `each column once (${h} is already column ${first + 1}; column ${j + 1} repeats it)` }));
    }
  });
  for (const col of MANIFEST_COLUMNS) {
    if (!OPTIONAL_COLUMNS.has(col) && !header.includes(col)) {
      problems.push(problem({ code: "missing_column", row: 1, column: col, value: null, expected: `a column named ${col}` }));
    }
  }
  return problems;
}

function parseRow(rowNo: number, cells: Record<string, string>, header: string[], out: Problem[]): ManifestRow | null {
  const bad = (column: string, value: string, expected: string, code: Problem["code"] = "invalid_value") =>
    out.push(problem({ code, row: rowNo, column, value, expected }));
  const oneOf = <T extends string>(column: Column, allowed: readonly T[]): T | null => {
    const raw = cells[column] ?? "";
    const v = raw.toLowerCase();
    const canonical = SYNONYMS[column]?.[v] ?? v;
    if ((allowed as readonly string[]).includes(canonical)) return canonical as T;
    bad(column, raw, `one of ${allowed.join(", ")}`);
    return null;
  };
  const bool = (column: Column): boolean | null => {
    const raw = cells[column] ?? "";
    const v = BOOLEANS[raw.toLowerCase()];
    if (v === undefined) bad(column, raw, "true or false");
    return v ?? null;
  };
  const text = (column: Column): string | null => {
    const raw = cells[column] ?? "";
    if (raw === "") bad(column, raw, "a non-empty value");
    return raw === "" ? null : raw;
  };
  const patientId = text("patient_id");
  const fileName = safeFileName(cells.file_name ?? "", (v, e) => bad("file_name", v, e, v === "" ? "invalid_value" : "unsafe_path"));
  const modality = oneOf<Modality>("modality", MODALITIES);
  const section = oneOf<Section>("section", SECTIONS);
  const diagnosis = oneOf<Diagnosis>("diagnosis", DIAGNOSES);
  const marks = bool("marks");
  const splitRaw = cells.split ?? "";
  const split = splitRaw === "" ? null : oneOf<Split>("split", SPLITS);
  const lungPresence = oneOf<LungPresence>("lung_presence", LUNG_PRESENCE);
  const origin = text("origin");
  const suitable = bool("suitable");
  if (patientId === null || fileName === null || modality === null || section === null || diagnosis === null) return null;
  if (marks === null || (splitRaw !== "" && split === null) || lungPresence === null || origin === null || suitable === null) return null;
  const meta: Record<string, string> = {};
  for (const h of header) if (!(MANIFEST_COLUMNS as readonly string[]).includes(h)) meta[h] = cells[h] ?? "";
  return { row: rowNo, patientId, fileName, modality, section, diagnosis, marks, split, lungPresence, origin, suitable, meta };
}

/** A relative path that stays inside the dataset, normalised to POSIX form; null (and a problem) otherwise. */
function safeFileName(raw: string, report: (value: string, expected: string) => void): string | null {
  if (raw === "") {
    report(raw, "a file name");
    return null;
  }
  const unified = raw.replace(/\\/g, "/");
  const norm = posix.normalize(unified);
  if (unified.startsWith("/") || /^[a-z]:/i.test(unified) || norm === ".." || norm.startsWith("../") || norm === "." || norm.endsWith("/")) {
    report(raw, "a relative path inside the dataset");
    return null;
  }
  return norm;
}
