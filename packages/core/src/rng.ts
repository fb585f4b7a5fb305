/**
 * A small seeded PRNG (mulberry32) and a string hash to derive independent streams. Pure and portable, so the
 * same seed gives the same plan on every machine and in every language that reimplements it.
 */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, 32 bits. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stream for one purpose, independent of the others drawn from the same seed. */
export function streamFor(seed: number, purpose: string): Rng {
  return mulberry32((seed ^ hash32(purpose)) >>> 0);
}

/** Integer in [0, n). */
export function randomBelow(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}
