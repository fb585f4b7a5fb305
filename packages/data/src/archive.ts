/**
 * Unpacking a dataset archive (.tar, .tar.gz/.tgz, .zip) into a directory. Entries that would land outside the
 * target (absolute paths, "..") and links are refused, so an archive can never write elsewhere on the host.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import * as yauzl from "yauzl";
import { ArchiveError } from "./errors.ts";

export type SourceKind = "dir" | "tar" | "zip";

export async function sourceKind(source: string): Promise<SourceKind> {
  const st = await stat(source).catch((err: unknown) => {
    throw new ArchiveError(`dataset source ${source} does not exist`, { cause: err });
  });
  if (st.isDirectory()) return "dir";
  const lower = source.toLowerCase();
  if (lower.endsWith(".zip")) return "zip";
  if (lower.endsWith(".tar") || lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar";
  throw new ArchiveError(`dataset source ${source}: expected a directory, .tar, .tar.gz, .tgz or .zip`);
}

/**
 * Unpacks `file` into `into`. `maxBytes` caps the total unpacked size (declared entry sizes), so a small
 * upload cannot expand into a disk-filling one. @defaultValue maxBytes Infinity
 */
export async function extractArchive(file: string, kind: "tar" | "zip", into: string, maxBytes = Infinity): Promise<void> {
  await mkdir(into, { recursive: true });
  const budget = { left: maxBytes, max: maxBytes };
  try {
    if (kind === "tar") await extractTar(file, into, budget);
    else await extractZip(file, into, budget);
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    throw new ArchiveError(`cannot unpack ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

interface Budget {
  left: number;
  max: number;
}

function spend(budget: Budget, bytes: number): void {
  budget.left -= bytes;
  if (budget.left < 0) throw new ArchiveError(`archive unpacks to more than ${budget.max} bytes`);
}

async function extractTar(file: string, into: string, budget: Budget): Promise<void> {
  const refused: string[] = [];
  let tooBig = false;
  await tar.x({
    file,
    cwd: into,
    strict: true,
    // Only plain files and directories; tar itself strips absolute paths and refuses "..".
    filter: (path, entry) => {
      const type = "type" in entry ? entry.type : "File";
      const ok = (type === "File" || type === "Directory" || type === "OldFile") && isSafe(path);
      if (!ok) refused.push(path);
      budget.left -= "size" in entry && typeof entry.size === "number" ? entry.size : 0;
      if (budget.left < 0) tooBig = true;
      return ok && !tooBig;
    },
  });
  if (tooBig) spend(budget, 0);
  if (refused.length > 0) throw new ArchiveError(`archive holds entries that are not plain files inside it: ${refused.slice(0, 5).join(", ")}`);
}

function isSafe(name: string): boolean {
  const norm = posix.normalize(name.replace(/\\/g, "/"));
  return !norm.startsWith("/") && norm !== ".." && !norm.startsWith("../");
}

function extractZip(file: string, into: string, budget: Budget): Promise<void> {
  return new Promise((resolve, reject) => {
    // yauzl rejects absolute and ".." entry names itself (validateFileName) and emits them as errors.
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err) return reject(err);
      zip.on("error", reject);
      zip.on("end", () => resolve());
      zip.on("entry", (entry) => {
        if (entry.fileName.endsWith("/")) {
          mkdir(join(into, entry.fileName), { recursive: true }).then(() => zip.readEntry(), reject);
          return;
        }
        if (!isSafe(entry.fileName)) return reject(new ArchiveError(`zip entry ${entry.fileName} points outside the archive`));
        try {
          spend(budget, entry.uncompressedSize);
        } catch (err) {
          zip.close();
          return reject(err);
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const target = join(into, entry.fileName);
          mkdir(dirname(target), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(target)))
            .then(() => zip.readEntry(), reject);
        });
      });
      zip.readEntry();
    });
  });
}

/** The directory holding manifest.csv: the root itself, or its single top-level folder (archives often wrap one). */
export async function findDatasetRoot(dir: string): Promise<string | null> {
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
export async function manifestPath(root: string): Promise<string> {
  const name = (await readdir(root)).find((n) => n.toLowerCase() === "manifest.csv") ?? "manifest.csv";
  return join(root, name);
}
