/**
 * Reader/writer for the safetensors format (https://github.com/huggingface/safetensors):
 *   [u64 little-endian N][N bytes JSON header][data]
 * The header maps tensor names to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the
 * start of the data section) plus an optional "__metadata__" string map. Tensors are row-major, little-endian.
 *
 * Decoding is lazy: `toFloat32()` converts one tensor on demand, so a file may carry dtypes we never read
 * (torchvision's int64 `num_batches_tracked` counters).
 */
import { readFile } from "node:fs/promises";

export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  readonly code = "SAFETENSORS_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

export interface SafeTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The raw little-endian bytes of this tensor (a view into the file buffer). */
  bytes: Uint8Array;
  /** Values converted to float32 (F32, F16, BF16, F64, integer types). */
  toFloat32(): Float32Array;
}

export type SafeTensors = Map<string, SafeTensor>;

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function toFloat32(dtype: SafetensorsDtype, bytes: Uint8Array, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case "F32": for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true); break;
    case "F64": for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); break;
    case "F16": for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
    case "BF16": {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      break;
    }
    case "I64": for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true)); break;
    case "I32": for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
    case "I16": for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true); break;
    case "I8": for (let i = 0; i < n; i++) out[i] = dv.getInt8(i); break;
    case "U8": case "BOOL": for (let i = 0; i < n; i++) out[i] = dv.getUint8(i); break;
  }
  return out;
}

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

function checkEntry(name: string, e: HeaderEntry, dataLen: number): SafetensorsDtype {
  if (!(e.dtype in DTYPE_BYTES)) throw new SafetensorsError(`tensor ${name}: unsupported dtype ${e.dtype}`);
  if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new SafetensorsError(`tensor ${name}: invalid shape ${JSON.stringify(e.shape)}`);
  const [b, end] = e.data_offsets ?? [];
  if (!Number.isInteger(b) || !Number.isInteger(end) || b! < 0 || end! < b! || end! > dataLen) {
    throw new SafetensorsError(`tensor ${name}: data_offsets ${JSON.stringify(e.data_offsets)} outside the ${dataLen}-byte data section`);
  }
  const dtype = e.dtype as SafetensorsDtype;
  const expected = e.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype];
  if (end! - b! !== expected) throw new SafetensorsError(`tensor ${name}: ${end! - b!} bytes for shape [${e.shape}] of ${dtype} (expected ${expected})`);
  return dtype;
}

/** Parses a safetensors buffer; throws SafetensorsError naming the tensor and reason when malformed. */
export function parseSafetensors(buf: Uint8Array): SafeTensors {
  if (buf.byteLength < 8) throw new SafetensorsError(`file too short (${buf.byteLength} bytes) for the 8-byte header length`);
  const headerLen = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES || 8 + headerLen > buf.byteLength) throw new SafetensorsError(`header length ${headerLen} exceeds the file (${buf.byteLength} bytes)`);
  let header: Record<string, HeaderEntry>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen))) as Record<string, HeaderEntry>;
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  const data = buf.subarray(8 + headerLen);
  const out: SafeTensors = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const dtype = checkEntry(name, entry, data.byteLength);
    const bytes = data.subarray(entry.data_offsets[0], entry.data_offsets[1]);
    const n = entry.shape.reduce((a, d) => a * d, 1);
    out.set(name, { name, dtype, shape: entry.shape, bytes, toFloat32: () => toFloat32(dtype, bytes, n) });
  }
  return out;
}

/** Reads a .safetensors file (path) or parses a buffer. */
export async function loadSafetensors(source: string | Uint8Array): Promise<SafeTensors> {
  return parseSafetensors(typeof source === "string" ? await readFile(source) : source);
}

/** Encodes float32 tensors as safetensors (F32), names in insertion order; used for export and fixtures. */
export function encodeSafetensors(tensors: Iterable<[string, { shape: number[]; data: Float32Array }]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new SafetensorsError(`tensor ${name}: ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + n * 4] };
    chunks.push(t.data);
    offset += n * 4;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align the data section to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const dv = new DataView(out.buffer, 8 + headerBytes.length);
  let pos = 0;
  for (const c of chunks) for (let i = 0; i < c.length; i++, pos += 4) dv.setFloat32(pos, c[i]!, true);
  return out;
}
