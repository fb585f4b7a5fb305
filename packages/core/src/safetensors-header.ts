/**
 * The header of a safetensors file (https://github.com/huggingface/safetensors), parsed without its data:
 *   [u64 little-endian N][N bytes JSON header][data]
 * The header maps tensor names to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the start of
 * the data section) plus an optional "__metadata__" string map. Pure: callers read the bytes (only the first
 * 8 + N of a file are needed), so a multi-gigabyte file is validated with its header in memory only.
 */

export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const SAFETENSORS_DTYPE_BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Largest header accepted (the reference implementation's limit); real model headers are kilobytes. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  readonly code = "SAFETENSORS_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) within the data section. */
  offsets: [number, number];
}

export interface SafetensorsHeader {
  /** N: the JSON header's length; the data section starts at 8 + N. */
  headerLength: number;
  tensors: SafetensorsEntry[];
  metadata: Record<string, string> | undefined;
}

/** The header length N from a file's first 8 bytes. */
export function safetensorsHeaderLength(first8: Uint8Array): number {
  if (first8.byteLength < 8) throw new SafetensorsError(`file too short (${first8.byteLength} bytes) for the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) throw new SafetensorsError(`header length ${n} exceeds the limit of ${MAX_SAFETENSORS_HEADER_BYTES} bytes`);
  return Number(n);
}

function checkEntry(name: string, e: unknown, dataLength: number): SafetensorsEntry {
  if (e === null || typeof e !== "object" || Array.isArray(e)) throw new SafetensorsError(`tensor ${name}: entry is not an object`);
  const { dtype, shape, data_offsets: off } = e as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== "string" || !(dtype in SAFETENSORS_DTYPE_BYTES)) throw new SafetensorsError(`tensor ${name}: unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new SafetensorsError(`tensor ${name}: invalid shape ${JSON.stringify(shape)}`);
  const [b, end] = Array.isArray(off) ? off : [];
  if (!Number.isSafeInteger(b) || !Number.isSafeInteger(end) || b < 0 || end < b || end > dataLength) {
    throw new SafetensorsError(`tensor ${name}: data_offsets ${JSON.stringify(off)} outside the ${dataLength}-byte data section`);
  }
  const dt = dtype as SafetensorsDtype;
  const expected = (shape as number[]).reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPE_BYTES[dt];
  if (end - b !== expected) throw new SafetensorsError(`tensor ${name}: ${end - b} bytes for shape [${shape as number[]}] of ${dt} (expected ${expected})`);
  return { name, dtype: dt, shape: shape as number[], offsets: [b, end] };
}

/**
 * Parses the JSON header (the N bytes after the length) given the data section's length, checking every entry
 * (dtype, shape, offsets inside the data section, byte count = shape × dtype size). Throws SafetensorsError
 * naming the tensor and the reason.
 */
export function parseSafetensorsHeader(json: Uint8Array, dataLength: number): SafetensorsHeader {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new SafetensorsError("header is not a JSON object");
  const tensors: SafetensorsEntry[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object" || Object.values(entry).some((v) => typeof v !== "string")) throw new SafetensorsError("__metadata__ must map names to strings");
      metadata = entry as Record<string, string>;
      continue;
    }
    tensors.push(checkEntry(name, entry, dataLength));
  }
  return { headerLength: json.byteLength, tensors, metadata };
}

/**
 * The reference implementation's stricter rule for a whole file: the tensors tile the data section exactly
 * (no gap, no overlap, nothing after the last one), so every byte of the file is accounted for.
 */
export function checkSafetensorsCoverage(h: SafetensorsHeader, dataLength: number): void {
  const sorted = [...h.tensors].sort((a, b) => a.offsets[0] - b.offsets[0] || a.offsets[1] - b.offsets[1]);
  let at = 0;
  for (const t of sorted) {
    if (t.offsets[0] !== at) throw new SafetensorsError(`tensor ${t.name}: data_offsets [${t.offsets}] ${t.offsets[0] < at ? "overlap the previous tensor" : `leave a gap after byte ${at}`}`);
    at = t.offsets[1];
  }
  if (at !== dataLength) throw new SafetensorsError(`the data section has ${dataLength - at} byte(s) after the last tensor`);
}
