/**
 * openTrialData: what a trainer process reads its images through (the TrialData interface of @hypersweep/core).
 *
 * Memory: the uint8 cache stays on disk (the OS page cache shares it between trainer processes on a node).
 * Each iterator owns two batch slots (uint8 staging + float32 output) and alternates between them: the batch
 * the trainer works on, and the next one, read ahead. So a trainer holds two batches, never the dataset, and
 * a batch's arrays are overwritten as soon as the iterator is asked for the next batch (see Batch in
 * @hypersweep/core).
 *
 * Reusing the slots is what makes the cache fast at large S: a fresh 100 MB float32 array per batch (S = 512,
 * batch 32) costs a page fault per 4 KB on first touch, which measured 15× slower than the conversion itself.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { Batch, TrainerData, TrialData } from "@hypersweep/core";
import { ensureCache, normStats, readVersionManifest, type CacheHandle, type CacheOptions, type NormStats } from "./cache.ts";
import { CacheError, ScenarioError } from "./errors.ts";
import { deriveSeed, mulberry32, shuffleInPlace } from "./rng.ts";
import { resolveScenario, type ResolvedScenario, type ScenarioFilters } from "./scenario.ts";
import { createNormaliser, type Normaliser } from "./normalise.ts";
import { LUNG_PRESENCE, type LungPresence, type Split } from "./schema.ts";

export interface OpenedTrialData extends TrialData {
  /** The scenario as resolved against this dataset version (counts, dropped classes). */
  scenario: ResolvedScenario;
  /** Normalisation statistics of the scenario's training rows (pixel units). */
  stats: NormStats;
  cache: CacheHandle;
  close(): Promise<void>;
}

export interface TrialDataOptions extends CacheOptions {
  /** Normalise with these statistics instead of the scenario's training rows' (a model trained elsewhere). */
  stats?: NormStats;
  /** The test split is exactly these images (sha256, in this order), each a row of the scenario in any split. */
  testImages?: readonly string[];
}

export async function openTrialData(data: TrainerData, imageSize: number, opts: TrialDataOptions = {}): Promise<OpenedTrialData> {
  const manifest = await readVersionManifest(data.datasetDir);
  const sc = data.scenario;
  const scenario = resolveScenario(manifest.rows, {
    modality: sc.modality,
    task: sc.task,
    filters: parseFilters(sc.filters),
    minPerClass: sc.minPerClass,
    classes: sc.classes,
  });
  if (!opts.stats && scenario.rowIndices.train.length === 0) throw new ScenarioError(`scenario ${scenario.key} has no training images`);
  if (opts.testImages) selectTestImages(scenario, manifest.rows, opts.testImages);
  const cache = await ensureCache(data.datasetDir, imageSize, data.cacheDir, opts);
  if (cache.contentHash !== manifest.contentHash || cache.count !== manifest.rows.length) {
    throw new CacheError(`cache ${cache.dir} does not match dataset version ${manifest.contentHash}`);
  }
  const stats = opts.stats ?? (await normStats(cache, scenario.rowIndices.train));
  const fh = await open(cache.dataPath, "r");
  const pool = new SlotPool(stats);
  const reader = () => batchReader(fh, cache.bytesPerImage, pool);
  const pairs = (split: Split) => scenario.rowIndices[split].map((row, k) => [row, scenario.labels[split][k]!] as const);
  return {
    classes: scenario.classes,
    imageSize,
    counts: { train: scenario.rowIndices.train.length, valid: scenario.rowIndices.valid.length, test: scenario.rowIndices.test.length },
    scenario,
    stats,
    cache,
    trainBatches(epoch, batchSize, seed) {
      const order = shuffleInPlace(pairs("train"), mulberry32(deriveSeed("train", seed, epoch)));
      return batches(order, batchSize, reader());
    },
    evalBatches(split, batchSize) {
      return batches(pairs(split), batchSize, reader());
    },
    imageHashes: (split) => scenario.rowIndices[split].map((row) => manifest.rows[row]!.sha256),
    close: () => fh.close(),
  };
}

/** Makes the scenario's test split exactly `images` (by sha256, in order); an image not in the scenario is an error. */
function selectTestImages(scenario: ResolvedScenario, rows: readonly { sha256: string }[], images: readonly string[]): void {
  const where = new Map<string, [number, number]>();
  for (const split of ["train", "valid", "test"] as const) {
    scenario.rowIndices[split].forEach((row, k) => {
      if (!where.has(rows[row]!.sha256)) where.set(rows[row]!.sha256, [row, scenario.labels[split][k]!]);
    });
  }
  const picked = images.map((h, i) => {
    const w = where.get(h);
    if (!w) throw new ScenarioError(`image ${i} (sha256 ${h}) is not a row of scenario ${scenario.key} in this dataset version`);
    return w;
  });
  scenario.rowIndices.test = picked.map((p) => p[0]);
  scenario.labels.test = picked.map((p) => p[1]);
}

function parseFilters(f: Record<string, unknown>): ScenarioFilters {
  const out: ScenarioFilters = {};
  if (f.lungPresence !== undefined) {
    if (!Array.isArray(f.lungPresence) || !f.lungPresence.every((v) => (LUNG_PRESENCE as readonly unknown[]).includes(v))) {
      throw new ScenarioError(`scenario filter lungPresence must be a list of ${LUNG_PRESENCE.join(", ")}, got ${JSON.stringify(f.lungPresence)}`);
    }
    out.lungPresence = f.lungPresence as LungPresence[];
  }
  if (f.suitable !== undefined) {
    if (typeof f.suitable !== "boolean") throw new ScenarioError(`scenario filter suitable must be true or false, got ${JSON.stringify(f.suitable)}`);
    out.suitable = f.suitable;
  }
  return out;
}

/**
 * A batch's memory: the uint8 staging the positional reads fill and the float32 batch handed out, both views of
 * one WebAssembly instance's memory (plain arrays where WebAssembly SIMD is unavailable; see normalise.ts).
 */
type Slot = Normaliser;

/**
 * Slots kept between iterators of one TrialData, so that every epoch and every evaluation pass reuses the
 * same memory. An iterator borrows two and returns them when it ends (or is abandoned).
 */
class SlotPool {
  private free: Slot[] = [];
  constructor(private readonly stats: NormStats) {}
  take(bytes: number): Slot {
    const i = this.free.findIndex((s) => s.raw.length >= bytes);
    if (i >= 0) return this.free.splice(i, 1)[0]!;
    return createNormaliser(bytes, this.stats);
  }
  give(slots: Slot[]): void {
    this.free.push(...slots);
    this.free.sort((a, b) => a.raw.length - b.raw.length);
    this.free.splice(0, Math.max(0, this.free.length - 4)); // at most two iterators' worth stays
  }
}

type ReadBatch = (rows: readonly number[], labels: readonly number[]) => Promise<Batch>;

/**
 * Reads batches into two alternating slots borrowed from the pool, sized for the first (largest) batch. Each
 * call fills the slot the previous-but-one batch used: with one batch read ahead, that is the batch the
 * consumer gave up by asking for the next.
 */
function batchReader(fh: FileHandle, bpi: number, pool: SlotPool): { read: ReadBatch; release(): void } {
  const slots: Slot[] = [];
  let turn = 0;
  const read: ReadBatch = async (rows, labels) => {
    const k = turn++ % 2;
    const need = rows.length * bpi;
    if (!slots[k] || slots[k].raw.length < need) {
      if (slots[k]) pool.give([slots[k]]);
      slots[k] = pool.take(need);
    }
    const slot = slots[k];
    // Each image is converted as soon as its read lands, so the conversion (this thread) overlaps the
    // batch's remaining reads (libuv's thread pool). All reads settle before a failure is reported: until
    // then they still write into the slot.
    const done = await Promise.allSettled(rows.map(async (r, i) => {
      await readFully(fh, slot.raw, i * bpi, bpi, r * bpi);
      slot.run(i * bpi, (i + 1) * bpi);
    }));
    const failed = done.find((d) => d.status === "rejected");
    if (failed) throw failed.reason;
    return { x: slot.x.subarray(0, need), y: Int32Array.from(labels), size: rows.length };
  };
  return { read, release: () => pool.give(slots.splice(0)) };
}

async function readFully(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, offset + got, length - got, position + got);
    if (bytesRead === 0) throw new CacheError(`cache file ended early at byte ${position + got}`);
    got += bytesRead;
  }
}

/** Batches in the given order (the last one may be smaller), reading one batch ahead of the consumer. */
async function* batches(
  order: readonly (readonly [number, number])[],
  batchSize: number,
  reader: { read: ReadBatch; release(): void },
): AsyncGenerator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const fetch = (start: number) => {
    const slice = order.slice(start, start + batchSize);
    return reader.read(slice.map((p) => p[0]), slice.map((p) => p[1]));
  };
  let pending = order.length > 0 ? fetch(0) : null;
  try {
    for (let start = 0; pending; start += batchSize) {
      const current = await pending;
      const next = start + batchSize;
      pending = next < order.length ? fetch(next) : null;
      // Avoid an unhandled rejection if the consumer stops early and the prefetch fails.
      pending?.catch(() => {});
      yield current;
    }
  } finally {
    // A read still in flight writes into its slot: the slots go back only once it has settled.
    if (pending) void pending.then(reader.release, reader.release);
    else reader.release();
  }
}
