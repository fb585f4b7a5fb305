/**
 * Reading a dataset archive (.tar, .tar.gz/.tgz, .zip) under limits, writing only the entries asked for.
 *
 * Invariants:
 * - every entry is counted and its declared size checked against the limits before any of its bytes are read,
 *   so a bomb is refused from its headers; bytes actually written are counted again (declared sizes can lie);
 * - only entries that `pick` maps to a path are written, as plain files with default modes and the process's
 *   owner; links, devices and entries outside the archive are never written;
 * - the promise settles only after every file this call opened is closed, so the caller may remove the
 *   directory as soon as it rejects;
 * - messages name the archive by its base name, never by a server path.
 */
import { createWriteStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { basename, dirname, posix } from "node:path";
import { ArchiveError } from "./errors.ts";

export type SourceKind = "dir" | "tar" | "zip";

export async function sourceKind(source: string): Promise<SourceKind> {
  const st = await stat(source).catch((err: unknown) => {
    throw new ArchiveError(`dataset source ${basename(source)} does not exist`, { cause: err });
  });
  if (st.isDirectory()) return "dir";
  const lower = source.toLowerCase();
  if (lower.endsWith(".zip")) return "zip";
  if (lower.endsWith(".tar") || lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar";
  throw new ArchiveError(`dataset source ${basename(source)}: expected a directory, .tar, .tar.gz, .tgz or .zip`);
}

/** Limits on what one archive may unpack to. */
export interface UnpackLimits {
  /** Entries (files, folders and anything else) in the archive. */
  maxEntries: number;
  /** Unpacked size of one entry, in bytes. */
  maxEntryBytes: number;
  /** Unpacked size of all entries together (written or not), in bytes. */
  maxTotalBytes: number;
}

export const NO_LIMITS: UnpackLimits = { maxEntries: Infinity, maxEntryBytes: Infinity, maxTotalBytes: Infinity };

/** Operator caps from which the limits of one upload are derived (see uploadLimits). */
export interface UploadCaps {
  /** Unpacked bytes per uploaded byte, for the whole archive and for each entry. */
  ratio: number;
  /** Absolute caps, whatever the upload's size. */
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
}

/** Every upload may unpack to this much (a manifest compresses well), within the absolute caps. */
export const UNPACK_FLOOR_BYTES = 64 * 1024 ** 2;
/** Entries every upload may hold, plus one per ENTRY_BYTES uploaded (20,000 empty entries fit in 163 KB). */
export const ENTRY_FLOOR = 1000;
export const ENTRY_BYTES = 256;

/** The limits for one upload of `uploadBytes`: they scale with the upload's real size, under absolute caps. */
export function uploadLimits(uploadBytes: number, caps: UploadCaps): UnpackLimits {
  const scaled = Math.max(UNPACK_FLOOR_BYTES, caps.ratio * uploadBytes);
  return {
    maxEntries: Math.min(caps.maxEntries, ENTRY_FLOOR + Math.floor(uploadBytes / ENTRY_BYTES)),
    maxEntryBytes: Math.min(caps.maxEntryBytes, scaled),
    maxTotalBytes: Math.min(caps.maxTotalBytes, scaled),
  };
}

/** One archive entry, its name normalised (POSIX, no leading "./", no trailing "/"). */
export interface ArchiveEntry {
  name: string;
  kind: "file" | "dir" | "other";
  /** Declared unpacked size, bytes. */
  size: number;
}

/** Maps an entry to the path it is written to, or null to skip it (its bytes are read past, never stored). */
export type Pick = (entry: ArchiveEntry) => string | null;

/** Normalises an entry name; null when it would land outside the archive's root. */
export function entryName(raw: string): string | null {
  const norm = posix.normalize(raw.replace(/\\/g, "/")).replace(/\/+$/, "");
  if (norm.startsWith("/") || /^[a-z]:/i.test(norm) || norm === ".." || norm.startsWith("../")) return null;
  return norm === "." ? "" : norm;
}

/** Counts entries and declared sizes against the limits; throws ArchiveError naming the limit passed. */
export class Budget {
  private entries = 0;
  private total = 0;
  constructor(
    readonly limits: UnpackLimits,
    readonly label: string,
  ) {}

  admit(entry: ArchiveEntry): void {
    const { maxEntries, maxEntryBytes, maxTotalBytes } = this.limits;
    if (++this.entries > maxEntries) throw new ArchiveError(`${this.label} holds more than ${maxEntries} entries, the most allowed for an upload of its size`);
    if (entry.size > maxEntryBytes) {
      throw new ArchiveError(`${this.label}: entry ${JSON.stringify(entry.name)} unpacks to ${bytes(entry.size)}, more than the ${bytes(maxEntryBytes)} allowed per file for an upload of its size`);
    }
    this.total += entry.size;
    if (this.total > maxTotalBytes) throw new ArchiveError(`${this.label} unpacks to more than ${bytes(maxTotalBytes)}, the most allowed for an upload of its size`);
  }

  /** Bytes actually written for one entry: more than declared (or than the per-file limit) is refused. */
  written(entry: ArchiveEntry, n: number): void {
    if (n > Math.min(entry.size, this.limits.maxEntryBytes)) throw new ArchiveError(`${this.label}: entry ${JSON.stringify(entry.name)} holds more bytes than its header declares`);
  }
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/** A stream of an entry's bytes (a Node Readable from yauzl, a Minipass ReadEntry from tar). */
export interface ByteSource {
  on(event: "data", cb: (chunk: Buffer) => void): unknown;
  on(event: "end", cb: () => void): unknown;
  on(event: "error", cb: (err: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

interface Job {
  done: Promise<void>;
  abort: (err: Error) => void;
}

/**
 * One pass over an archive: the entries seen, the files being written, and a promise that settles once, after
 * every file opened by the pass is closed (on success, on the first error, and when the library aborts).
 */
export class Pass {
  readonly entries: ArchiveEntry[] = [];
  readonly promise: Promise<ArchiveEntry[]>;
  private readonly jobs = new Set<Job>();
  private settled = false;
  private resolve!: (e: ArchiveEntry[]) => void;
  private reject!: (e: Error) => void;

  constructor(
    readonly label: string,
    readonly budget: Budget,
    /** Stops reading the archive (closes the file); called once, before waiting for the files. */
    private readonly stopReading: () => void,
  ) {
    this.promise = new Promise((res, rej) => ([this.resolve, this.reject] = [res, rej]));
  }

  get over(): boolean {
    return this.settled;
  }

  /** Counts an entry against the limits (throws ArchiveError) and remembers it. */
  admit(entry: ArchiveEntry): void {
    this.budget.admit(entry);
    this.entries.push(entry);
  }

  /** Writes an entry's bytes to `target`; a failure fails the pass. `next` runs when the file is complete. */
  write(src: ByteSource, target: string, entry: ArchiveEntry, next?: () => void): void {
    let abortReason: Error | null = null;
    let onAbort: () => void = () => {};
    const job: Job = {
      done: writeEntry(src, target, entry, this.budget, (cb) => ((onAbort = cb), abortReason)),
      abort: (err) => {
        abortReason = err;
        onAbort();
      },
    };
    this.jobs.add(job);
    job.done.then(
      () => {
        this.jobs.delete(job);
        next?.();
      },
      (err: unknown) => {
        this.jobs.delete(job);
        this.fail(err);
      },
    );
  }

  /** The archive was read to its end: resolves once every file is written and closed. */
  finish(): void {
    if (this.settled) return;
    void Promise.allSettled([...this.jobs].map((j) => j.done)).then(() => {
      if (this.settled) return;
      this.settled = true;
      this.stopReading();
      this.resolve(this.entries);
    });
  }

  /** Stops the pass: no more reading, every open file aborted and closed, then the promise rejects. */
  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    const reason = unpackError(this.label, err);
    this.stopReading();
    const jobs = [...this.jobs];
    for (const j of jobs) j.abort(reason);
    void Promise.allSettled(jobs.map((j) => j.done)).then(() => this.reject(reason));
  }
}

/** Copies src into a new plain file; settles only after the file is closed. */
async function writeEntry(
  src: ByteSource,
  target: string,
  entry: ArchiveEntry,
  budget: Budget,
  watchAbort: (cb: () => void) => Error | null,
): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  let failure: unknown = watchAbort(() => {});
  if (failure) throw failure;
  // "wx": an entry never replaces a file (two entries of one name are an error, not a silent overwrite).
  const ws = createWriteStream(target, { flags: "wx", mode: 0o644 });
  const closed = new Promise<void>((res) => ws.once("close", () => res()));
  const stop = (err: unknown) => {
    failure ??= err;
    ws.destroy();
  };
  watchAbort(() => stop(new ArchiveError("aborted")));
  ws.on("error", stop);
  let n = 0;
  src.on("data", (chunk) => {
    if (failure) return;
    n += chunk.length;
    try {
      budget.written(entry, n);
    } catch (err) {
      return stop(err);
    }
    if (!ws.write(chunk)) {
      src.pause();
      ws.once("drain", () => src.resume());
    }
  });
  src.on("end", () => ws.end());
  src.on("error", stop);
  await closed;
  if (failure) throw failure;
}

/** Errors from the archive libraries, reworded without server paths. */
export function unpackError(label: string, err: unknown): ArchiveError {
  if (err instanceof ArchiveError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const msg = raw.replace(/(\/[^\s'"`:,]+)+/g, (p) => basename(p));
  return new ArchiveError(`cannot unpack ${label}: ${msg}`, { cause: err });
}

/** The folder holding manifest.csv: "" (the root), or the single top-level folder (archives often wrap one). */
export function datasetPrefix(entries: readonly ArchiveEntry[]): { prefix: string; manifest: string } | null {
  const rootManifest = entries.find((e) => e.kind === "file" && !e.name.includes("/") && isManifest(e.name));
  if (rootManifest) return { prefix: "", manifest: rootManifest.name };
  const top = new Set<string>();
  for (const e of entries) {
    const slash = e.name.indexOf("/");
    const head = slash < 0 ? (e.kind === "dir" ? e.name : null) : e.name.slice(0, slash);
    if (head && !head.startsWith(".") && head !== "__MACOSX") top.add(head);
  }
  if (top.size !== 1) return null;
  const [dir] = [...top];
  const inner = entries.find((e) => e.kind === "file" && e.name.startsWith(`${dir}/`) && isManifest(e.name.slice(dir!.length + 1)));
  return inner ? { prefix: `${dir}/`, manifest: inner.name } : null;
}

/** Entries that may be the manifest (at the root or one folder down): the only ones read before the manifest is. */
export function manifestCandidate(e: ArchiveEntry): boolean {
  const parts = e.name.split("/");
  return e.kind === "file" && parts.length <= 2 && isManifest(parts[parts.length - 1]!);
}

const isManifest = (name: string) => name.toLowerCase() === "manifest.csv";
