/**
 * Importing a dataset: unpack, validate every row, split, and store an immutable content-addressed version.
 *
 * Invariants:
 * - all problems are reported at once; a dataset with problems is rejected whole unless excludeBadRows;
 * - nothing half-imported remains: work happens in dataRoot/tmp and appears under dataRoot/versions/<hash>
 *   only by an atomic rename of a complete directory (publish), which the caller may run inside the transaction
 *   that records the version; temporary directories are removed on every path (discard);
 * - an archive is read twice: first its headers (checked against the limits) and its manifest.csv, then only
 *   the entries that the manifest's valid rows name; nothing else is ever written to disk;
 * - the same rows (in any order), files and split seed give the same contentHash, hence the same directory.
 */
import { createHash, randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { datasetPrefix, manifestCandidate, NO_LIMITS, sourceKind, type UnpackLimits } from "./archive.ts";
import { unpack } from "./archive-read.ts";
import { DatasetInvalidError, problem, type Problem } from "./errors.ts";
import { readManifest, type ParsedManifest } from "./manifest.ts";
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
  /** Limits on an archive source (entries, unpacked sizes; see uploadLimits). @defaultValue none */
  limits?: Partial<UnpackLimits>;
  /** Most rows in manifest.csv. @defaultValue Infinity */
  maxRows?: number;
  /** The source's name in messages. @defaultValue its base name */
  label?: string;
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

/** An import validated and staged in a temporary directory, not yet visible under versions/. */
export interface StagedImport extends Omit<ImportResult, "created"> {
  /** Moves the version into place (atomic rename); created: false when that content was already there. */
  publish(): Promise<{ storagePath: string; created: boolean }>;
  /** Removes the temporary directory (after publish, or instead of it). Never throws. */
  discard(): Promise<void>;
}

/** Imports and publishes at once (see stageDataset to publish inside a transaction). */
export async function importDataset(source: string, opts: ImportOptions): Promise<ImportResult> {
  const staged = await stageDataset(source, opts);
  try {
    const { storagePath, created } = await staged.publish();
    const { publish: _p, discard: _d, ...result } = staged;
    return { ...result, storagePath, created };
  } finally {
    await staged.discard();
  }
}

/** Unpacks, validates, splits and stages a dataset; nothing appears under versions/ until publish(). */
export async function stageDataset(source: string, opts: ImportOptions): Promise<StagedImport> {
  const dataRoot = resolve(opts.dataRoot);
  const tmpRoot = join(dataRoot, "tmp");
  await mkdir(tmpRoot, { recursive: true });
  const scratch = join(tmpRoot, `import-${process.pid}-${randomBytes(6).toString("hex")}`);
  const discard = () => rm(scratch, { recursive: true, force: true }).catch(() => {});
  const progress = opts.onProgress ?? (() => {});
  try {
    const kind = await sourceKind(source);
    const { root, parsed } = kind === "dir" ? await openDirectory(source, opts) : await unpackArchive(source, kind, scratch, opts, progress);
    const { rows, problems, excluded } = await validate(root, parsed, opts, progress);
    const split = assignSplits(rows.sort((a, b) => (a.fileName < b.fileName ? -1 : 1)), { seed: opts.splitSeed ?? 0 });
    const finalRows = split.rows as VersionRow[];
    const contentHash = hashVersion(finalRows);
    const manifest: VersionManifest = {
      format: 1,
      contentHash,
      rows: finalRows,
      split: { source: split.report.source, seed: split.report.seed, ratios: split.report.ratios },
    };
    const finalDir = join(dataRoot, "versions", contentHash);
    const staged = join(scratch, "version");
    const known = await exists(join(finalDir, "manifest.json"));
    if (!known) await stageVersion(root, staged, manifest, kind !== "dir", progress);
    return {
      contentHash,
      storagePath: finalDir,
      rows: finalRows,
      summary: summarise(finalRows, split.report, excluded),
      problems,
      publish: () => publishVersion(staged, finalDir),
      discard,
    };
  } catch (err) {
    await discard();
    throw err;
  }
}

async function openDirectory(source: string, opts: ImportOptions): Promise<{ root: string; parsed: ParsedManifest }> {
  const root = await findDatasetRoot(resolve(source));
  if (!root) throw new DatasetInvalidError([missingManifest()]);
  return { root, parsed: await readManifest(await manifestPath(root), opts.maxRows) };
}

/**
 * Two passes over the archive: the first checks every header against the limits and writes only the
 * manifest.csv candidates; the second writes only the files that the manifest's valid rows name.
 */
async function unpackArchive(source: string, kind: "tar" | "zip", scratch: string, opts: ImportOptions, progress: (p: ImportProgress) => void) {
  const label = opts.label ?? basename(source);
  const limits = { ...NO_LIMITS, ...opts.limits };
  progress({ phase: "extract", done: 0, total: 2 });
  const candidates = new Map<string, string>();
  const entries = await unpack(source, kind, limits, (e) => {
    if (!manifestCandidate(e)) return null;
    const target = join(scratch, "manifests", `${candidates.size}.csv`);
    candidates.set(e.name, target);
    return target;
  }, label);
  progress({ phase: "extract", done: 1, total: 2 });
  const found = datasetPrefix(entries);
  if (!found) throw new DatasetInvalidError([missingManifest()]);
  const parsed = await readManifest(candidates.get(found.manifest)!, opts.maxRows);
  throwOnManifestProblems(parsed);
  const root = join(scratch, "src");
  const wanted = new Map(parsed.rows.map((r) => [found.prefix + r.fileName, join(root, r.fileName)]));
  await unpack(source, kind, limits, (e) => wanted.get(e.name) ?? null, label);
  progress({ phase: "extract", done: 2, total: 2 });
  return { root, parsed };
}

/** Problems with the manifest as a whole (no rows can be trusted): reject before touching any image. */
function throwOnManifestProblems(parsed: ParsedManifest): void {
  if (parsed.problems.some((p) => p.row === null || p.row === 1)) throw new DatasetInvalidError(parsed.problems);
}

/** The directory holding manifest.csv: the root itself, or its single top-level folder (archives often wrap one). */
async function findDatasetRoot(dir: string): Promise<string | null> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && e.name.toLowerCase() === "manifest.csv")) return dir;
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".") && e.name !== "__MACOSX");
  if (dirs.length === 1) {
    const inner = join(dir, dirs[0]!.name);
    const innerEntries = await readdir(inner, { withFileTypes: true });
    if (innerEntries.some((e) => e.isFile() && e.name.toLowerCase() === "manifest.csv")) return inner;
  }
  return null;
}

/** manifest.csv under its actual spelling (MANIFEST.CSV is accepted). */
async function manifestPath(root: string): Promise<string> {
  const name = (await readdir(root)).find((n) => n.toLowerCase() === "manifest.csv") ?? "manifest.csv";
  return join(root, name);
}

function missingManifest(): Problem {
  return problem({ code: "manifest_missing", row: null, column: null, value: null, expected: "a manifest.csv at the root of the dataset (or of its single top-level folder)" });
}

async function validate(root: string, parsed: ParsedManifest, opts: ImportOptions, progress: (p: ImportProgress) => void) {
  throwOnManifestProblems(parsed);
  const problems = [...parsed.problems];
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

async function stageVersion(root: string, tmpDir: string, manifest: VersionManifest, movable: boolean, progress: (p: ImportProgress) => void): Promise<void> {
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
}

async function publishVersion(tmpDir: string, finalDir: string): Promise<{ storagePath: string; created: boolean }> {
  if (await exists(join(finalDir, "manifest.json"))) return { storagePath: finalDir, created: false };
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
