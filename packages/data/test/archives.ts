/**
 * Hostile archives built on the fly, small on disk however large they unpack (no big file is committed or
 * written): deflate blocks ended by a full flush restart with an empty dictionary, so the block for a run of
 * zeros is computed once and repeated, and a 1 GiB tar.gz takes about a second to write.
 */
import { writeFile } from "node:fs/promises";
import zlib from "node:zlib";
import { Header } from "tar";

/** Bytes, or a run of zero bytes. */
export type Piece = Buffer | { zeros: number };

const MiB = 1024 ** 2;
const ZERO_MIB = Buffer.alloc(MiB);
const FLUSH = { finishFlush: zlib.constants.Z_FULL_FLUSH, level: 9 };
let zeroBlock: Buffer | null = null;

/** Raw deflate of the pieces, plus their CRC-32 and length. */
function deflatePieces(pieces: readonly Piece[]): { data: Buffer; crc: number; size: number } {
  zeroBlock ??= zlib.deflateRawSync(ZERO_MIB, FLUSH);
  const out: Buffer[] = [];
  let crc = 0;
  let size = 0;
  for (const p of merged(pieces)) {
    if (Buffer.isBuffer(p)) {
      if (p.length > 0) out.push(zlib.deflateRawSync(p, FLUSH));
      crc = zlib.crc32(p, crc);
      size += p.length;
      continue;
    }
    for (let left = p.zeros; left > 0; left -= Math.min(left, MiB)) {
      const n = Math.min(left, MiB);
      out.push(n === MiB ? zeroBlock : zlib.deflateRawSync(ZERO_MIB.subarray(0, n), FLUSH));
      crc = zlib.crc32(ZERO_MIB.subarray(0, n), crc);
    }
    size += p.zeros;
  }
  out.push(zlib.deflateRawSync(Buffer.alloc(0))); // the final (empty) block
  return { data: Buffer.concat(out), crc: crc >>> 0, size };
}

/** Adjacent buffers joined, so that they compress together (the zero runs stay apart). */
function merged(pieces: readonly Piece[]): Piece[] {
  const out: Piece[] = [];
  let run: Buffer[] = [];
  const flush = () => run.length > 0 && (out.push(Buffer.concat(run)), (run = []));
  for (const p of pieces) {
    if (Buffer.isBuffer(p)) run.push(p);
    else {
      flush();
      out.push(p);
    }
  }
  flush();
  return out;
}

/** Writes a gzip file holding the concatenated pieces; returns its size in bytes. */
export async function writeGzip(file: string, pieces: readonly Piece[]): Promise<number> {
  const { data, crc, size } = deflatePieces(pieces);
  const head = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(crc, 0);
  tail.writeUInt32LE(size % 2 ** 32, 4);
  const all = Buffer.concat([head, data, tail]);
  await writeFile(file, all);
  return all.length;
}

export interface TarEntry {
  path: string;
  data?: Buffer;
  zeros?: number;
  type?: "File" | "Directory" | "SymbolicLink";
  linkpath?: string;
  uid?: number;
  gid?: number;
  mode?: number;
}

/** The pieces of a tar archive of these entries (ustar headers, data padded to 512 bytes, two zero blocks). */
export function tarPieces(entries: readonly TarEntry[]): Piece[] {
  const out: Piece[] = [];
  for (const e of entries) {
    const size = e.data?.length ?? e.zeros ?? 0;
    const type = e.type ?? "File";
    const h = new Header({
      path: e.path,
      type,
      size: type === "File" ? size : 0,
      mode: e.mode ?? (type === "Directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: new Date(0),
      linkpath: e.linkpath,
    });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    out.push(block);
    if (type !== "File" || size === 0) continue;
    out.push(e.data ?? { zeros: size });
    if (size % 512) out.push(Buffer.alloc(512 - (size % 512)));
  }
  out.push(Buffer.alloc(1024));
  return out;
}

export interface ZipEntry {
  name: string;
  data?: Buffer;
  zeros?: number;
}

/** Writes a .zip (deflate, no zip64) of these entries; returns its size in bytes. */
export async function writeZip(file: string, entries: readonly ZipEntry[]): Promise<number> {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const { data, crc, size } = deflatePieces([e.data ?? { zeros: e.zeros ?? 0 }]);
    const name = Buffer.from(e.name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    parts.push(local, name, data);
    offset += local.length + name.length + data.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  const all = Buffer.concat([...parts, cdBuf, end]);
  await writeFile(file, all);
  return all.length;
}
