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
import { parseSafetensorsHeader, safetensorsHeaderLength, SafetensorsError, type SafetensorsDtype } from "@hypersweep/core";

export { SafetensorsError, type SafetensorsDtype } from "@hypersweep/core";

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

/** Parses a safetensors buffer; throws SafetensorsError naming the tensor and reason when malformed. */
export function parseSafetensors(buf: Uint8Array): SafeTensors {
  const headerLen = safetensorsHeaderLength(buf.subarray(0, 8));
  if (8 + headerLen > buf.byteLength) throw new SafetensorsError(`header length ${headerLen} exceeds the file (${buf.byteLength} bytes)`);
  const data = buf.subarray(8 + headerLen);
  const out: SafeTensors = new Map();
  for (const { name, dtype, shape, offsets } of parseSafetensorsHeader(buf.subarray(8, 8 + headerLen), data.byteLength).tensors) {
    const bytes = data.subarray(offsets[0], offsets[1]);
    const n = shape.reduce((a, d) => a * d, 1);
    out.set(name, { name, dtype, shape, bytes, toFloat32: () => toFloat32(dtype, bytes, n) });
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
