import { createHash } from "node:crypto";

/** mulberry32 (packages/core): the same seed gives the same sequence everywhere in the product. */
export { mulberry32 } from "@hypersweep/core";

/** A 32-bit seed derived from several parts (e.g. seed and epoch), so that nearby inputs give unrelated streams. */
export function deriveSeed(...parts: (string | number)[]): number {
  return createHash("sha256").update(parts.join("\u0000")).digest().readUInt32LE(0);
}

/** Fisher–Yates in place. */
export function shuffleInPlace<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
