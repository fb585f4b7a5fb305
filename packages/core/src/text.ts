/**
 * Text that reaches Postgres. Postgres refuses the NUL character (0x00) in `text` columns and parameters, so a
 * NUL would otherwise surface as a server error; every schema whose strings are stored or queried uses these,
 * and a NUL is refused as a bad field (400 naming it).
 */
import { z } from "zod";

export const NUL_MESSAGE = "must not contain the NUL character (\\u0000)";

/** True when `s` holds a NUL character. */
export const hasNul = (s: string): boolean => s.includes("\0");

/** A string stored in or compared against Postgres: no NUL, `min`..`max` characters (default 1..200). */
export function text(opts: { min?: number; max?: number } = {}) {
  return z
    .string()
    .min(opts.min ?? 1)
    .max(opts.max ?? 200)
    .refine((s) => !hasNul(s), NUL_MESSAGE);
}
