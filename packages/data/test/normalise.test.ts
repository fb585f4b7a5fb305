import { mulberry32 } from "@hypersweep/core";
import { describe, expect, it } from "vitest";
import { compileNormaliseWat } from "../scripts/build-normalise-wasm.ts";
import { createNormaliser, type Normaliser } from "../src/normalise.ts";
import { NORMALISE_WASM_BASE64 } from "../src/normalise-wasm.ts";

type Stats = { mean: [number, number, number]; std: [number, number, number] };

function randomStats(rand: () => number): Stats {
  return {
    mean: [0, 1, 2].map(() => rand() * 255) as Stats["mean"],
    std: [0, 1, 2].map(() => 0.5 + rand() * 100) as Stats["std"],
  };
}

/** Fills raw with random bytes and x with NaN, converts [from, to), and checks every value of x. */
function check(nz: Normaliser, stats: Stats, from: number, to: number, rand: () => number): void {
  for (let p = 0; p < nz.raw.length; p++) nz.raw[p] = Math.floor(rand() * 256);
  nz.x.fill(Number.NaN);
  nz.run(from, to);
  let worst = 0;
  for (let p = 0; p < nz.x.length; p++) {
    const got = nz.x[p]!;
    if (p < from || p >= to) {
      // Outside the range nothing is written.
      if (!Number.isNaN(got)) throw new Error(`x[${p}] written outside [${from}, ${to})`);
      continue;
    }
    const ref = (nz.raw[p]! - stats.mean[p % 3]!) / stats.std[p % 3]!;
    const rel = ref === 0 ? Math.abs(got) : Math.abs(got - ref) / Math.abs(ref);
    if (!(rel <= 1e-6)) throw new Error(`x[${p}] = ${got}, expected ${ref} (raw ${nz.raw[p]}, relative error ${rel})`);
    worst = Math.max(worst, rel);
  }
  expect(worst).toBeLessThanOrEqual(1e-6);
}

describe("normalisation kernel", () => {
  it("the embedded binary is normalise.wat as compiled now (rebuild: packages/data/scripts/build-normalise-wasm.ts)", async () => {
    const compiled = await compileNormaliseWat();
    expect(Buffer.from(compiled).toString("base64")).toBe(NORMALISE_WASM_BASE64);
  });

  it("runs as WebAssembly SIMD on this runtime", () => {
    expect(createNormaliser(12, { mean: [0, 0, 0], std: [1, 1, 1] }).kind).toBe("wasm-simd");
  });

  for (const simd of [true, false]) {
    describe(simd ? "WebAssembly SIMD" : "JS fallback", () => {
      it("equals (v − mean) / std within 1e-6 relative, for random bytes and statistics, with and without a tail", () => {
        const rand = mulberry32(simd ? 11 : 12);
        // The kernel steps by 16 pixels (48 values), then 4 pixels (12), then single values: lengths that
        // end in each of them, and a batch of odd-sized images.
        for (const n of [0, 3, 12, 15, 18, 21, 24, 48, 51, 60, 96 + 12 + 3, 48 * 250, 48 * 250 + 9, 48 * 250 + 36 + 6, 7 * 7 * 3 * 5]) {
          for (let trial = 0; trial < 3; trial++) {
            const stats = randomStats(rand);
            const nz = createNormaliser(n, stats, { simd });
            expect(nz.kind).toBe(simd ? "wasm-simd" : "js");
            expect(nz.raw.length).toBe(n);
            expect(nz.x.length).toBe(n);
            check(nz, stats, 0, n, rand);
          }
        }
      });

      it("converts a sub-range starting at any pixel, leaving the rest of the buffer untouched", () => {
        const rand = mulberry32(simd ? 21 : 22);
        const stats = randomStats(rand);
        const nz = createNormaliser(300, stats, { simd });
        for (const [from, to] of [[3, 300], [3, 27], [6, 297], [9, 10], [150, 151], [297, 300], [120, 120], [33, 33 + 96 + 12 + 2]] as const) check(nz, stats, from, to, rand);
        expect(() => nz.run(1, 12)).toThrow(RangeError);
        expect(() => nz.run(0, 301)).toThrow(RangeError);
      });

      it("keeps its relative precision next to the mean (no cancellation)", () => {
        const rand = mulberry32(simd ? 31 : 32);
        // Means a hair away from a pixel value: (v − mean) is tiny for that v.
        for (const stats of [
          { mean: [100 + 1e-4, 37 - 3e-6, 200.5], std: [3, 70, 0.01] },
          { mean: [128, 0, 255], std: [1, 1, 1] },
          { mean: [127.99999, 1e-7, 254.999], std: [64.1, 0.2, 17] },
        ] as Stats[]) {
          const nz = createNormaliser(768 * 3 + 6, stats, { simd });
          check(nz, stats, 0, nz.x.length, rand);
          // Every pixel value in every channel, so the value nearest each mean is included.
          for (let p = 0; p < 768; p++) nz.raw[p] = p % 256;
          nz.run(0, 768);
          for (let p = 0; p < 768; p++) {
            const ref = (nz.raw[p]! - stats.mean[p % 3]!) / stats.std[p % 3]!;
            expect(Math.abs(nz.x[p]! - ref)).toBeLessThanOrEqual(1e-6 * Math.abs(ref));
          }
        }
      });
    });
  }

  it("each buffer has its own memory: converting one does not touch another", () => {
    const stats: Stats = { mean: [10, 20, 30], std: [2, 4, 8] };
    const a = createNormaliser(24, stats);
    const b = createNormaliser(24, stats);
    expect(a.x.buffer).not.toBe(b.x.buffer);
    a.raw.fill(50);
    b.raw.fill(90);
    a.run(0, 24);
    b.run(0, 24);
    expect(Array.from(a.x.subarray(0, 3))).toEqual([20, 7.5, 2.5]);
    expect(Array.from(b.x.subarray(0, 3))).toEqual([40, 17.5, 7.5]);
  });
});
