/**
 * The trainer process contract (language-neutral): the worker writes one TrainerSpec as JSON on the trainer's
 * stdin and closes it; the trainer writes one TrainerMessage per line (JSON) on stdout, logs on stderr, and
 * stops within a few seconds of SIGTERM after writing a final checkpoint. Exit code 0 after a `result` line;
 * non-zero after an `error` line (or a crash). The worker validates every line with these schemas; a line that
 * does not parse fails the attempt with that line quoted.
 *
 * Resuming: a trainer started with a checkpointDir that holds a checkpoint resumes after it, and first re-emits
 * the `epoch` messages of the epochs the checkpoint covers (the worker's epoch writes are idempotent), so an
 * epoch that was checkpointed but never recorded (its worker died in between) is not lost.
 * Orphans: a trainer whose parent (the worker) has died stops at once (it checks its parent pid at least once
 * per batch or epoch) and writes no further checkpoint, so it never races the attempt that replaces it.
 *
 * Any change here must stay backward compatible: trainers in other languages may speak it.
 */
import { z } from "zod";

export const ARCHITECTURES = ["resnet18", "resnet50", "wide_resnet50_2", "densenet121", "densenet169", "small_cnn"] as const;
export const Architecture = z.enum(ARCHITECTURES);
export type Architecture = z.infer<typeof Architecture>;

export const AUGMENTATIONS = ["rotation", "brightness", "hflip", "center_crop", "contrast"] as const;
export const Augmentation = z.enum(AUGMENTATIONS);
export type Augmentation = z.infer<typeof Augmentation>;

/**
 * Metrics a run can be selected by: keys of the epoch metrics (auc and f1 of the positive class, macroF1,
 * accuracy, macroAuc) and valLoss (lower is better).
 */
export const SELECTION_METRICS = ["auc", "f1", "macroF1", "accuracy", "macroAuc", "valLoss"] as const;
export const SelectionMetric = z.enum(SELECTION_METRICS);
export type SelectionMetric = z.infer<typeof SelectionMetric>;

export const Task = z.enum(["binary", "multiclass"]);
export type Task = z.infer<typeof Task>;

export const AugmentationParams = z.strictObject({
  /** Rotation angle drawn uniformly from ±rotationDegrees. @defaultValue 90 */
  rotationDegrees: z.number().min(0).max(180),
  /** Brightness factor: pixel values shift by up to ±brightness (fraction of the range). 0.11 radiograph, 0.2 CT. */
  brightness: z.number().min(0).max(1),
  /** Contrast factor: contrast scales by a factor in [1 - contrast, 1 + contrast]. @defaultValue 0.2 */
  contrast: z.number().min(0).max(1),
  /** Center crop keeps this central fraction of each side, then resizes back. @defaultValue 0.8 */
  centerCropFraction: z.number().gt(0).max(1),
});
export type AugmentationParams = z.infer<typeof AugmentationParams>;

/** Where and how the trainer finds its data (filled in by the worker from the dataset version and scenario). */
export const TrainerData = z.strictObject({
  datasetVersionId: z.string(),
  /** Directory of the imported dataset version (images + manifest). */
  datasetDir: z.string(),
  /** Root of the preprocessing cache (shared by all trials and sweeps). */
  cacheDir: z.string(),
  /** The scenario: which rows, which classes (in label order), which task. */
  scenario: z.strictObject({
    key: z.string(),
    modality: z.enum(["ct", "radiograph"]),
    task: Task,
    classes: z.array(z.string()).min(2),
    positiveClass: z.string(),
    filters: z.record(z.string(), z.unknown()).default({}),
    minPerClass: z.number().int().min(0).default(0),
  }),
});
export type TrainerData = z.infer<typeof TrainerData>;

/**
 * Evaluate mode (stage "evaluate"): no training. The trainer builds the spec's architecture for
 * `spec.data.scenario.classes`, loads `weightsPath`, scores the listed images of `spec.data`'s dataset version
 * (normalised with the statistics of the training split of `trainedOn`, the data the weights were trained on),
 * and answers `ready`, then one `result` whose `predictions.test` holds the images in the listed order (no
 * `epoch` or `checkpoint` messages). Labels are the images' classes in `spec.data.scenario`.
 */
export const TrainerEvaluate = z.strictObject({
  /** The weights to score: a model.json (with its weights.bin beside it) as a final training published it. */
  weightsPath: z.string(),
  /** The epoch of the training these weights come from; the result echoes it as `bestEpoch`. */
  epoch: z.number().int().min(1),
  /** sha256 (the version manifest's) of each image to score, in order; each must be a row of spec.data's scenario. */
  images: z.array(z.string()).min(1),
  /** The data the weights were trained on: its training split's normalisation statistics are used. */
  trainedOn: TrainerData,
});
export type TrainerEvaluate = z.infer<typeof TrainerEvaluate>;

export const TrainerSpec = z.strictObject({
  trialId: z.string(),
  attempt: z.number().int().min(1),
  seed: z.number().int(),
  architecture: Architecture,
  /** "evaluate": score `evaluate.weightsPath` on `evaluate.images`; the training fields are carried but unused. */
  stage: z.enum(["search", "final", "evaluate"]),
  task: Task,
  learningRate: z.number().positive(),
  augmentations: z.array(Augmentation),
  augmentationParams: AugmentationParams,
  /** Search: exact epoch count. Final: the maximum, with early stopping. */
  epochs: z.number().int().min(1),
  batchSize: z.number().int().min(1),
  imageSize: z.number().int().min(8),
  schedule: z.strictObject({ stepSize: z.number().int().min(1), gamma: z.number().gt(0).max(1) }),
  earlyStopping: z
    .strictObject({ patience: z.number().int().min(1), minDelta: z.number().min(0).default(0) })
    .optional(),
  /**
   * The metric the best epoch is chosen by ("auc" for binary, "f1" for multiclass by default; also "macroF1",
   * "accuracy", "macroAuc", "valLoss"), with the epoch rule of core's epoch-selection.ts: an epoch improves when
   * the metric rises by more than minDelta, or ties it (within minDelta) and the validation loss falls.
   */
  selectionMetric: SelectionMetric,
  data: TrainerData,
  /** Directory for this trial's checkpoints; a restarted attempt resumes from the last one found here. */
  checkpointDir: z.string(),
  /** Directory for the final weights. */
  outputDir: z.string(),
  /** Optional torchvision-named .safetensors weights to start from. */
  pretrained: z.string().optional(),
  /**
   * The classifier of `pretrained`: "replace" starts it afresh for the scenario's classes (what sweeps ask for);
   * "import_if_fits" imports it when its shape fits the scenario's classes. @defaultValue "import_if_fits"
   */
  pretrainedHead: z.enum(["replace", "import_if_fits"]).optional(),
  /** Force a backend instead of the best that loads. */
  backend: z.enum(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]).optional(),
  /** Evaluate the best weights on the test split at the end (final trainings). */
  evaluateTest: z.boolean().default(false),
  /** Evaluate mode: required when stage is "evaluate", ignored otherwise. */
  evaluate: TrainerEvaluate.optional(),
});
export type TrainerSpec = z.infer<typeof TrainerSpec>;
export type TrainerSpecInput = z.input<typeof TrainerSpec>;

const finite = z.number().finite();
export const EpochMetrics = z.record(z.string(), z.union([finite, z.null()]));

/**
 * A model's class probabilities for every image of one split: the input of the one scorer. Trainers report them
 * and the worker computes every metric from them with `@hypersweep/metrics`, so metrics do not depend on which
 * trainer ran. The three arrays are parallel, in the split's order (the order is free but must be the same in
 * all three).
 * - `images`: the sha256 of each image's bytes, exactly as in the dataset version's manifest.json (`rows[].sha256`,
 *   64 lower-case hex digits). It names the image across dataset versions (cross-dataset evaluation removes
 *   images a model saw by this hash).
 * - `labels`: the true class of each image, an index into `scenario.classes` (label order).
 * - `probs`: `[image][class]`, softmax probabilities in label order (one row per image, one column per class of
 *   the scenario, each in [0, 1]). Float32 precision is plenty: trainers may round to ~6 significant digits to
 *   keep the line short.
 */
export const Predictions = z
  .strictObject({
    images: z.array(z.string().regex(/^[0-9a-f]{64}$/, "must be the image's sha256 (64 lower-case hex digits)")),
    labels: z.array(z.number().int().min(0)),
    probs: z.array(z.array(z.number().finite().min(0).max(1)).min(2)),
  })
  .superRefine((p, ctx) => {
    const n = p.images.length;
    if (p.labels.length !== n) {
      ctx.addIssue({ code: "custom", path: ["labels"], message: `has ${p.labels.length} entries for ${n} images` });
    }
    if (p.probs.length !== n) {
      ctx.addIssue({ code: "custom", path: ["probs"], message: `has ${p.probs.length} rows for ${n} images` });
      return;
    }
    const classes = p.probs[0]?.length ?? 0;
    for (let i = 0; i < n; i++) {
      const row = p.probs[i]!;
      if (row.length !== classes) {
        ctx.addIssue({ code: "custom", path: ["probs", i], message: `has ${row.length} classes, row 0 has ${classes}` });
        return;
      }
      if ((p.labels[i] ?? 0) >= classes) {
        ctx.addIssue({ code: "custom", path: ["labels", i], message: `class ${p.labels[i]} out of range (${classes} classes)` });
        return;
      }
    }
  });
export type Predictions = z.infer<typeof Predictions>;

/** One completed epoch as reported in an `epoch` message (and as stored). */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  lr: number;
  durationMs: number;
  /** auc, f1, precision, recall, accuracy (multiclass adds macroAuc); null where undefined. */
  metrics: Record<string, number | null>;
}

export const TrainerMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("ready"),
    backend: z.string(),
    versions: z.record(z.string(), z.string()),
    resumedFromEpoch: z.number().int().min(0).optional(),
  }),
  z.object({
    type: z.literal("epoch"),
    epoch: z.number().int().min(1),
    trainLoss: z.number(),
    valLoss: z.number(),
    lr: z.number(),
    durationMs: z.number().min(0),
    /**
     * auc, f1, precision, recall, accuracy; multiclass adds macroAuc. Used as reported only when `predictions` is
     * absent; a trainer that sends `predictions` may omit it (the worker computes the metrics).
     */
    metrics: EpochMetrics.default({}),
    /** The validation split's probabilities at this epoch's weights (optional; preferred over `metrics`). */
    predictions: Predictions.optional(),
  }),
  z.object({ type: z.literal("checkpoint"), epoch: z.number().int().min(0), path: z.string() }),
  z.object({
    type: z.literal("result"),
    bestEpoch: z.number().int().min(1),
    /** Validation metrics of the best epoch (plus valLoss); may be omitted when `predictions.val` is sent. */
    metrics: EpochMetrics.default({}),
    weightsPath: z.string().optional(),
    /**
     * Test-set evaluation, when asked for: metrics, confusion matrix, bootstrap intervals. Used only when
     * `predictions.test` is absent (the worker then scores the test split itself).
     */
    test: z.record(z.string(), z.unknown()).optional(),
    /**
     * Probabilities of the kept (best) weights: `val` on the validation split, `test` on the test split (sent by
     * final trainings, `evaluateTest`). The worker scores them and keeps them (final trainings) in Postgres.
     */
    predictions: z.strictObject({ val: Predictions.optional(), test: Predictions.optional() }).optional(),
  }),
  z.object({
    type: z.literal("error"),
    reason: z.enum(["diverged", "bad_spec", "data", "cancelled", "internal"]),
    message: z.string(),
  }),
]);
export type TrainerMessage = z.infer<typeof TrainerMessage>;
