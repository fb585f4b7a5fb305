/**
 * Row-level checks that need the files: existence, decodability, extension vs content, and the content-hash
 * checks that catch one image filed under two patients or two subsets (a leak between training and evaluation).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import sharp, { type Metadata } from "sharp";
import { problem, type Problem } from "./errors.ts";
import { IMAGE_EXTENSIONS, type ManifestRow, type Split } from "./schema.ts";

export interface CheckedFile {
  sha256: string;
  bytes: number;
}

/**
 * Checks one image from disk; returns its hash, or the problems found. Never throws for bad content, and never
 * holds the file in memory: the header (sharp metadata) gives format and dimensions, libvips decodes from the
 * file a shrunk copy (to catch truncation), and the hash is streamed.
 */
export async function checkImageFile(root: string, row: ManifestRow): Promise<CheckedFile | Problem[]> {
  const at = { row: row.row, column: "file_name", value: row.fileName };
  const path = join(root, row.fileName);
  const st = await stat(path).catch(() => null);
  if (!st || !st.isFile()) {
    return [problem({ code: "missing_file", ...at, expected: st?.isDirectory() ? "a file, found a directory" : "an existing file in the dataset" })];
  }
  if (st.size === 0) return [problem({ code: "undecodable_image", ...at, expected: "an image, found a zero-byte file" })];
  const ext = extname(row.fileName).slice(1).toLowerCase();
  const wanted = IMAGE_EXTENSIONS[ext];
  if (!wanted) return [problem({ code: "wrong_extension", ...at, expected: "a .png, .jpg, .jpeg or .gif file" })];
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (err) {
    return [problem({ code: "undecodable_image", ...at, expected: `a decodable ${wanted} image (${reason(err)})` })];
  }
  if (meta.format !== wanted) {
    return [problem({ code: "wrong_extension", ...at, expected: `a .${ext} file to hold ${wanted} data, found ${meta.format ?? "unknown"} data` })];
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (!(pixels > 0) || pixels > MAX_PIXELS) {
    return [problem({ code: "undecodable_image", ...at, expected: `an image of at most ${MAX_PIXELS} pixels, found ${meta.width ?? "?"}×${meta.height ?? "?"}` })];
  }
  // libpng tolerates a stream cut inside its last chunk; every complete PNG has an IEND chunk near its end.
  if (meta.format === "png" && (await tail(path, st.size, 64)).indexOf("IEND", 0, "latin1") < 0) {
    return [problem({ code: "undecodable_image", ...at, expected: "a complete png image (truncated: no IEND chunk at the end)" })];
  }
  try {
    // A full decode from the file (shrunk on load where the codec allows): header-only checks miss truncation.
    await sharp(path, { failOn: "truncated", sequentialRead: true }).resize(32, 32, { fit: "inside" }).raw().toBuffer();
  } catch (err) {
    return [problem({ code: "undecodable_image", ...at, expected: `a complete ${wanted} image (${reason(err)})` })];
  }
  return { sha256: await sha256File(path), bytes: st.size };
}

/** sharp's own default limit on input pixels (0x3FFF²): larger images are refused before any decoding. */
const MAX_PIXELS = 0x3fff * 0x3fff;

async function tail(path: string, size: number, n: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(Math.min(n, size));
    await fh.read(buf, 0, buf.length, size - buf.length);
    return buf;
  } finally {
    await fh.close();
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function reason(err: unknown): string {
  // libvips names the file in some messages: keep server paths out of what the team reads.
  const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
  return msg.replace(/(\/[^\s'"`:,]+)+/g, (p) => basename(p)).slice(0, 160);
}

/**
 * Same content under two patients, or in two subsets of a given split. The first row with a hash is the
 * reference; every later row that conflicts with it gets the problem (so excluding bad rows keeps the first).
 */
export function checkContentDuplicates(rows: readonly (ManifestRow & { sha256: string })[]): Problem[] {
  const first = new Map<string, ManifestRow>();
  const out: Problem[] = [];
  for (const r of rows) {
    const f = first.get(r.sha256);
    if (!f) {
      first.set(r.sha256, r);
      continue;
    }
    if (f.patientId !== r.patientId) {
      out.push(problem({
        code: "duplicate_content_patients",
        row: r.row,
        column: "patient_id",
        value: r.patientId,
        expected: `patient ${f.patientId}: the image is identical to row ${f.row} (${f.fileName})`,
      }));
    } else if (f.split && r.split && f.split !== r.split) {
      out.push(problem({
        code: "duplicate_content_splits",
        row: r.row,
        column: "split",
        value: r.split,
        expected: `${f.split}: the image is identical to row ${f.row} (${f.fileName})`,
      }));
    }
  }
  return out;
}

/**
 * Patients that a given split puts in several subsets. The patient's most common split (earliest on a tie) is
 * taken as intended; every row in another subset gets a problem naming the patient.
 */
export function checkPatientLeakage(rows: readonly ManifestRow[]): Problem[] {
  const byPatient = new Map<string, ManifestRow[]>();
  for (const r of rows) if (r.split) byPatient.set(r.patientId, [...(byPatient.get(r.patientId) ?? []), r]);
  const out: Problem[] = [];
  for (const [patient, rs] of byPatient) {
    const tally = new Map<Split, number>();
    for (const r of rs) tally.set(r.split!, (tally.get(r.split!) ?? 0) + 1);
    if (tally.size < 2) continue;
    const major = [...tally.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    for (const r of rs) {
      if (r.split === major) continue;
      out.push(problem({
        code: "patient_leakage",
        row: r.row,
        column: "split",
        value: r.split,
        expected: `${major}, like the other images of patient ${patient} (rows ${rs.filter((x) => x.split === major).map((x) => x.row).join(", ")})`,
      }));
    }
  }
  return out;
}
