/**
 * The two archive formats behind one call: `unpack` reads every entry's header against the limits and writes
 * the entries that `pick` asks for (see archive.ts for the invariants). A .zip is read through its central
 * directory (yauzl); a .tar or .tar.gz is streamed (tar's Parser, which also aborts past 1000:1 compression).
 */
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import * as tar from "tar";
import * as yauzl from "yauzl";
import { Budget, entryName, Pass, type ArchiveEntry, type ByteSource, type Pick, type UnpackLimits } from "./archive.ts";
import { ArchiveError } from "./errors.ts";

/** Reads `file` (named `label` in messages), enforcing `limits`; resolves with every entry once all writes are closed. */
export function unpack(file: string, kind: "tar" | "zip", limits: UnpackLimits, pick: Pick, label = basename(file)): Promise<ArchiveEntry[]> {
  const budget = new Budget(limits, label);
  return kind === "tar" ? unpackTar(file, label, budget, pick) : unpackZip(file, label, budget, pick);
}

function named(raw: string, kind: ArchiveEntry["kind"], size: number, label: string): ArchiveEntry {
  const name = entryName(raw);
  if (name === null) throw new ArchiveError(`${label}: entry ${JSON.stringify(raw)} points outside the archive`);
  return { name, kind, size };
}

function refuseOther(e: ArchiveEntry, label: string): void {
  if (e.kind === "other") throw new ArchiveError(`${label}: entry ${JSON.stringify(e.name)} is not a plain file or folder (links and devices are refused)`);
}

function unpackTar(file: string, label: string, budget: Budget, pick: Pick): Promise<ArchiveEntry[]> {
  // Small reads: one read of 64 KiB can inflate to 64 MiB before the parser sees the header that refuses it.
  const rs = createReadStream(file, { highWaterMark: 16 * 1024 });
  const targets = new Map<object, { target: string; entry: ArchiveEntry }>();
  const parser: tar.Parser = new tar.Parser({
    strict: true,
    // Called for every entry before its body: count and check it, and say whether its bytes are wanted.
    filter: (_path, raw) => {
      if (pass.over || !("type" in raw)) return false;
      try {
        const type = raw.type;
        const kind = type === "File" || type === "OldFile" || type === "ContiguousFile" ? "file" : type === "Directory" ? "dir" : "other";
        const entry = named(raw.path, kind, raw.size ?? 0, label);
        pass.admit(entry);
        refuseOther(entry, label);
        const target = kind === "file" ? pick(entry) : null;
        if (target) targets.set(raw, { target, entry });
        return target !== null;
      } catch (err) {
        pass.fail(err);
        return false;
      }
    },
    onReadEntry: (raw) => {
      const t = targets.get(raw);
      targets.delete(raw);
      if (t && !pass.over) pass.write(raw as unknown as ByteSource, t.target, t.entry);
      else raw.resume();
    },
  });
  const pass = new Pass(label, budget, () => {
    rs.unpipe(parser as unknown as NodeJS.WritableStream);
    rs.destroy();
  });
  parser.on("error", (err: Error) => pass.fail(err));
  parser.on("abort", (err: Error) => pass.fail(err));
  parser.on("end", () => pass.finish());
  rs.on("error", (err) => pass.fail(err));
  rs.pipe(parser as unknown as NodeJS.WritableStream);
  return pass.promise;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function unpackZip(file: string, label: string, budget: Budget, pick: Pick): Promise<ArchiveEntry[]> {
  let zip: yauzl.ZipFile | null = null;
  const pass = new Pass(label, budget, () => zip?.close());
  // yauzl refuses absolute and ".." names itself (validateFileName) and checks sizes against the headers.
  yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, z) => {
    if (err) return pass.fail(err);
    zip = z;
    z.on("error", (e) => pass.fail(e));
    z.on("end", () => pass.finish());
    z.on("entry", (raw) => {
      if (pass.over) return;
      try {
        const mode = (raw.externalFileAttributes >>> 16) & S_IFMT;
        const kind = raw.fileName.endsWith("/") ? "dir" : mode === S_IFLNK ? "other" : "file";
        const entry = named(raw.fileName, kind, raw.uncompressedSize, label);
        pass.admit(entry);
        refuseOther(entry, label);
        const target = kind === "file" ? pick(entry) : null;
        if (!target) return z.readEntry();
        z.openReadStream(raw, (e, stream) => {
          if (e) return pass.fail(e);
          if (pass.over) return stream.destroy();
          pass.write(stream, target, entry, () => z.readEntry());
        });
      } catch (e) {
        pass.fail(e);
      }
    });
    z.readEntry();
  });
  return pass.promise;
}
