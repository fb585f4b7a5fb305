/**
 * What a trainer reads its data through (implemented by @hypersweep/data's openTrialData, inside the trainer
 * process). Images are normalised float32 NHWC (N × S × S × 3) with the training subset's per-channel mean and
 * standard deviation; labels are class indices into `classes`.
 *
 * A batch is valid until its iterator is asked for the next one: implementations may reuse its arrays then
 * (openTrialData does, which keeps a trainer's memory at two batches and avoids touching fresh pages for
 * every batch). A consumer that keeps a batch past that point copies it (`x.slice()`).
 */
export interface Batch {
  /** N × S × S × 3, normalised, row-major NHWC. */
  x: Float32Array;
  /** N class indices. */
  y: Int32Array;
  /** N. */
  size: number;
}

export interface TrialData {
  classes: readonly string[];
  imageSize: number;
  counts: { train: number; valid: number; test: number };
  /** Training batches in an order shuffled by (seed, epoch): the same seed and epoch give the same order. */
  trainBatches(epoch: number, batchSize: number, seed: number): AsyncIterable<Batch>;
  /** Validation or test batches in a fixed order. */
  evalBatches(split: "valid" | "test", batchSize: number): AsyncIterable<Batch>;
  /**
   * The sha256 of each image evalBatches(split) yields, in that order (the dataset version manifest's hashes):
   * what a trainer's Predictions name images by. Optional: without it a trainer reports metrics only.
   */
  imageHashes?(split: "valid" | "test"): readonly string[];
  close?(): Promise<void>;
}
