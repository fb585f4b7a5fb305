/**
 * Search spaces as data. Three kinds of dimension: a grid of values (every value is tried), a categorical
 * choice (one value is sampled), and a first-class subset dimension: any subset of a named set of items —
 * "k of the 2^n subsets of these augmentations, seeded, without duplicates".
 */
import { z } from "zod";
import { SpecError } from "./errors.ts";
import { randomBelow, type Rng } from "./rng.ts";

const name = z.string().min(1).max(64);
const scalar = z.union([z.number().finite(), z.string().min(1)]);

export const GridDimension = z.strictObject({ kind: z.literal("grid"), name, values: z.array(scalar).min(1).max(1000) });
export const ChoiceDimension = z.strictObject({ kind: z.literal("choice"), name, values: z.array(scalar).min(1).max(1000) });
export const SubsetDimension = z.strictObject({
  kind: z.literal("subset"),
  name,
  /** The items; a subset is reported in this order. At most 20 items (about a million subsets). */
  items: z.array(z.string().min(1)).min(1).max(20).refine((a) => new Set(a).size === a.length, "items must be distinct"),
});
export const Dimension = z.discriminatedUnion("kind", [GridDimension, ChoiceDimension, SubsetDimension]);
export type Dimension = z.infer<typeof Dimension>;
export type SubsetDimension = z.infer<typeof SubsetDimension>;

/** Validates a dimension definition; a bad one is a SpecError naming the field. */
export function parseDimension(def: unknown, path = "dimension"): Dimension {
  const r = Dimension.safeParse(def);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: [path, ...i.path.map(String)].join("."), message: i.message }));
    throw new SpecError(`invalid search dimension: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  return r.data;
}

export function subsetDimension(dimName: string, items: readonly string[]): SubsetDimension {
  return parseDimension({ kind: "subset", name: dimName, items: [...items] }) as SubsetDimension;
}

export function subsetCount(dim: SubsetDimension): number {
  return 2 ** dim.items.length;
}

/** Subset number `mask` (bit i = item i), items in the dimension's order. */
export function subsetAt(dim: SubsetDimension, mask: number): string[] {
  return dim.items.filter((_, i) => (mask >>> i) & 1);
}

/** Every subset, from the empty one up, in mask order. */
export function allSubsets(dim: SubsetDimension): string[][] {
  return Array.from({ length: subsetCount(dim) }, (_, m) => subsetAt(dim, m));
}

/**
 * `k` distinct subsets drawn uniformly without replacement (a partial Fisher–Yates shuffle of the subset
 * numbers). Asking for more distinct subsets than exist is a SpecError that says how many exist.
 */
export function sampleSubsets(dim: SubsetDimension, k: number, rng: Rng, path = "subsetsPerRate"): string[][] {
  const total = subsetCount(dim);
  if (!Number.isInteger(k) || k < 1) throw new SpecError(`${path} must be a whole number ≥ 1, got ${k}`, [{ path, message: `must be a whole number ≥ 1, got ${k}` }]);
  if (k > total) {
    const message = `asks for ${k} distinct subsets but only ${total} exist (2^${dim.items.length} subsets of ${dim.items.length} ${dim.name})`;
    throw new SpecError(`${path} ${message}`, [{ path, message }]);
  }
  // Partial Fisher–Yates over the virtual array [0, total): only swapped positions are stored, so drawing k
  // of a million subsets costs O(k), and the draws are exactly those of the dense shuffle.
  const swapped = new Map<number, number>();
  const at = (i: number) => swapped.get(i) ?? i;
  const out: string[][] = [];
  for (let i = 0; i < k; i++) {
    const j = i + randomBelow(rng, total - i);
    const picked = at(j);
    swapped.set(j, at(i));
    out.push(subsetAt(dim, picked));
  }
  return out;
}

/** One value of a categorical dimension. */
export function sampleChoice<T extends string | number>(values: readonly T[], rng: Rng): T {
  return values[randomBelow(rng, values.length)];
}
