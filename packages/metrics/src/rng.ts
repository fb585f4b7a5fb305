/**
 * A tiny seeded PRNG (mulberry32) so that bootstrap intervals are reproducible: the same seed and the same
 * inputs give the same interval on every machine. Not cryptographic; statistically fine for resampling.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
