/**
 * Importing a dataset: unpack, validate every row, split, and store an immutable content-addressed version.
 *
 * Invariants:
 * - all problems are reported at once; a dataset with problems is rejected whole unless excludeBadRows;
 * - nothing half-imported remains: work happens in dataRoot/tmp and appears under dataRoot/versions/<hash>
 *   only by an atomic rename of a complete directory; temporary directories are removed on every path;
 * - the same rows (in any order), files and split seed give the same contentHash, hence the same directory.
 */
import { createHash, randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { extractArchive, findDatasetRoot, manifestPath, sourceKind } from "./archive.ts";
import { DatasetInvalidError, problem, type Problem } from "./errors.ts";
import { parseManifest } from "./manifest.ts";
import type { ManifestRow, VersionManifest, VersionRow } from "./schema.ts";
import { assignSplits } from "./split.ts";
import { summarise, type DatasetSummary } from "./summary.ts";
import { runLimited } from "./util.ts";
import { checkContentDuplicates, checkImageFile, checkPatientLeakage } from "./validate.ts";

export interface ImportProgress {
  phase: "extract" | "validate" | "store";
  done: number;
  total: number;
}

export interface ImportOptions {
  /** Root of stored versions: versions live in <dataRoot>/versions/<contentHash>/. */
  dataRoot: string;
  /** Import the good rows and report the bad ones in summary.excluded, instead of rejecting. @defaultValue false */
  excludeBadRows?: boolean;
  /** Seed of the computed split (rows without a split). @defaultValue 0 */
  splitSeed?: number;
  /** Called as files are unpacked, validated and stored. Must not throw. */
  onProgress?: (p: ImportProgress) => void;
  /** Images checked at once. @defaultValue 4 */
  concurrency?: number;
  /** Largest total unpacked size of an archive, in bytes. @defaultValue Infinity */
  maxExtractedBytes?: number;
}

export interface ImportResult {
  contentHash: string;
  /** Absolute path of the version directory (images/ + manifest.json). */
  storagePath: string;
  /** false when this content had been imported before (the existing directory was reused). */
  created: boolean;
  rows: VersionRow[];
  summary: DatasetSummary;
  /** Every problem found; with excludeBadRows, the rows they name were left out. */
  problems: Problem[];
}

export async function importDataset(source: string, opts: ImportOptions): Promise<ImportResult> {
  const dataRoot = resolve(opts.dataRoot);
  const tmpRoot = join(dataRoot, "tmp");
  await mkdir(tmpRoot, { recursive: true });
  const scratch = join(tmpRoot, `import-${process.pid}-${randomBytes(6).toString("hex")}`);
  const progress = opts.onProgress ?? (() => {});
  try {
    const kind = await sourceKind(source);
    let root = resolve(source);
    if (kind !== "dir") {
      progress({ phase: "extract", done: 0, total: 1 });
      await extractArchive(source, kind, join(scratch, "src"), opts.maxExtractedBytes);
      progress({ phase: "extract", done: 1, total: 1 });
      const found = await findDatasetRoot(join(scratch, "src"));
      if (!found) throw new DatasetInvalidError([missingManifest()]);
      root = found;
    } else if (!(await findDatasetRoot(root))) {
      throw new DatasetInvalidError([missingManifest()]);
    }
    const { rows, problems, excluded } = await validate(root, opts, progress);
    const split = assignSplits(rows.sort((a, b) => (a.fileName < b.fileName ? -1 : 1)), { seed: opts.splitSeed ?? 0 });
    const finalRows = split.rows as VersionRow[];
    const contentHash = hashVersion(finalRows);
    const manifest: VersionManifest = {
      format: 1,
      contentHash,
      rows: finalRows,
      split: { source: split.report.source, seed: split.report.seed, ratios: split.report.ratios },
    };
    const { storagePath, created } = await storeVersion(root, dataRoot, join(scratch, "version"), manifest, kind !== "dir", progress);
    return { contentHash, storagePath, created, rows: finalRows, summary: summarise(finalRows, split.report, excluded), problems };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function missingManifest(): Problem {
  return problem({ code: "manifest_missing", row: null, column: null, value: null, expected: "a manifest.csv at the root of the dataset (or of its single top-level folder)" });
}

async function validate(root: string, opts: ImportOptions, progress: (p: ImportProgress) => void) {
  const parsed = parseManifest(await readFile(await manifestPath(root), "utf8"));
  const problems = [...parsed.problems];
  if (problems.some((p) => p.row === null || p.code === "missing_column")) throw new DatasetInvalidError(problems);
  const hashed: (ManifestRow & { sha256: string })[] = [];
  let done = 0;
  const total = parsed.rows.length;
  progress({ phase: "validate", done, total });
  await runLimited(parsed.rows, opts.concurrency ?? 4, async (row) => {
    const res = await checkImageFile(root, row);
    if (Array.isArray(res)) problems.push(...res);
    else hashed.push({ ...row, sha256: res.sha256 });
    progress({ phase: "validate", done: ++done, total });
  });
  hashed.sort((a, b) => a.row - b.row);
  problems.push(...checkContentDuplicates(hashed), ...checkPatientLeakage(hashed));
  problems.sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
  if (problems.length > 0 && !opts.excludeBadRows) throw new DatasetInvalidError(problems);
  const badRows = new Map<number, Problem[]>();
  for (const p of problems) if (p.row !== null) badRows.set(p.row, [...(badRows.get(p.row) ?? []), p]);
  const rows = hashed.filter((r) => !badRows.has(r.row));
  if (rows.length === 0) throw new DatasetInvalidError(problems, `dataset rejected: no valid rows remain (${problems.length} problem(s))`);
  const excluded = [...badRows.entries()].map(([row, ps]) => ({ row, fileName: parsed.fileNames.get(row) || null, problems: ps }));
  return { rows, problems, excluded };
}

/** sha256 over the canonical rows (sorted by file name, row numbers left out): order in the CSV does not matter. */
export function hashVersion(rows: readonly VersionRow[]): string {
  const canon = [...rows]
    .sort((a, b) => (a.fileName < b.fileName ? -1 : 1))
    .map((r) => [r.fileName, r.sha256, r.patientId, r.modality, r.section, r.diagnosis, r.marks, r.split, r.lungPresence, r.origin, r.suitable, sortKeys(r.meta)]);
  return createHash("sha256").update(JSON.stringify({ format: 1, rows: canon })).digest("hex");
}

const sortKeys = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

async function storeVersion(
  root: string,
  dataRoot: string,
  tmpDir: string,
  manifest: VersionManifest,
  movable: boolean,
  progress: (p: ImportProgress) => void,
): Promise<{ storagePath: string; created: boolean }> {
  const finalDir = join(dataRoot, "versions", manifest.contentHash);
  if (await exists(join(finalDir, "manifest.json"))) return { storagePath: finalDir, created: false };
  const total = manifest.rows.length;
  let done = 0;
  await runLimited(manifest.rows, 8, async (r) => {
    const target = join(tmpDir, "images", r.fileName);
    await mkdir(dirname(target), { recursive: true });
    // Files unpacked from an archive are ours to move; a source directory is the team's and is only read.
    if (movable) await rename(join(root, r.fileName), target);
    else await copyFile(join(root, r.fileName), target);
    progress({ phase: "store", done: ++done, total });
  });
  // manifest.json is written last inside the temporary directory: a version directory always has one.
  await writeFile(join(tmpDir, "manifest.json"), JSON.stringify(manifest));
  await mkdir(dirname(finalDir), { recursive: true });
  try {
    await rename(tmpDir, finalDir);
    return { storagePath: finalDir, created: true };
  } catch (err) {
    // Another import of the same content won the race: its directory is identical by construction.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === "ENOTEMPTY" || code === "EEXIST") && (await exists(join(finalDir, "manifest.json")))) return { storagePath: finalDir, created: false };
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
