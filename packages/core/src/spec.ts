/**
 * A sweep's spec: a preset merged with the sweep's overrides, every field explicit. This merged object is what
 * gets stored with the sweep and what the plan is made from.
 */
import { z } from "zod";
import { SpecError } from "./errors.ts";
import { text } from "./text.ts";
import { getPreset, presetNames } from "./presets.ts";
import { checkBounds, DEFAULT_SWEEP_BOUNDS, type SweepBounds } from "./bounds.ts";
import { Architecture, Augmentation, AUGMENTATIONS, SelectionMetric, Task } from "./trainer-contract.ts";
import { earlyStoppingIssues, EarlyStoppingOverride, type SuccessiveHalving } from "./early-stopping.ts";
import { BASELINE_TRAINER, TrainerName } from "./trainers.ts";

const positive = z.number().finite().positive();

/** What a sweep may override (all optional; unknown fields are errors). */
export const SweepOverrides = z.strictObject({
  learningRates: z.array(positive.max(10)).min(1).max(20).refine((a) => new Set(a).size === a.length, "learning rates must be distinct").optional(),
  subsetsPerRate: z.number().int().min(1).max(1 << 20).optional(),
  allSubsets: z.boolean().optional(),
  /**
   * The items of the augmentation subset dimension (default: all five). Stored in canonical order (that of
   * AUGMENTATIONS), so the same set in any order gives the same plan.
   */
  augmentations: z.array(Augmentation).min(1).refine((a) => new Set(a).size === a.length, "augmentations must be distinct").optional(),
  searchEpochs: z.number().int().min(1).max(1000).optional(),
  finalEpochs: z.number().int().min(1).max(1000).optional(),
  patience: z.number().int().min(1).max(1000).optional(),
  minDelta: z.number().min(0).max(1).optional(),
  batchSize: z.union([z.number().int().min(1).max(4096), z.partialRecord(Architecture, z.number().int().min(1).max(4096))]).optional(),
  imageSize: z.number().int().min(8).max(2048).optional(),
  augmentationParams: z
    .strictObject({
      rotationDegrees: z.number().min(0).max(180).optional(),
      brightness: z.number().min(0).max(1).optional(),
      contrast: z.number().min(0).max(1).optional(),
      centerCropFraction: z.number().gt(0).max(1).optional(),
    })
    .optional(),
  schedule: z.strictObject({ stepSize: z.number().int().min(1).max(1000).optional(), gamma: z.number().gt(0).max(1).optional() }).optional(),
  /**
   * What decides the best epoch of a trial and the best trial of the sweep: the paper's (default: "auc" for
   * binary, "f1" of COVID-19 for multiclass), "macroF1", "accuracy", "macroAuc", or "valLoss" (lower is better).
   */
  selectionMetric: SelectionMetric.optional(),
  /** Train each architecture's winner to convergence and score it on the test set once its search ends. @defaultValue true */
  final: z.boolean().optional(),
  /** Pretrained weights per architecture, by the name they were imported under (POST /v1/weights), e.g. { resnet18: "imagenet" }. */
  pretrained: z.partialRecord(Architecture, text({ max: 128 })).optional(),
  /**
   * Stop hopeless search trials early (asynchronous successive halving, early-stopping.ts): at each rung epoch a
   * trial continues only if it is in the top 1/eta of its architecture's trials that reached that rung.
   * Off unless given (the data-stock-2020 preset trains every trial for all its epochs).
   */
  earlyStopping: EarlyStoppingOverride.optional(),
});
export type SweepOverrides = z.infer<typeof SweepOverrides>;

export interface SweepSpec {
  preset: string;
  seed: number;
  task: Task;
  modality: "ct" | "radiograph";
  architectures: Architecture[];
  learningRates: number[];
  subsetsPerRate: number;
  allSubsets: boolean;
  augmentations: string[];
  searchEpochs: number;
  finalEpochs: number;
  patience: number;
  minDelta: number;
  batchSize: Record<Architecture, number>;
  imageSize: number;
  augmentationParams: { rotationDegrees: number; brightness: number; contrast: number; centerCropFraction: number };
  schedule: { stepSize: number; gamma: number };
  optimizer: "adam";
  loss: "cross_entropy";
  selectionMetric: SelectionMetric;
  /** Present (false) only when the sweep skips the automatic final stage; absent means it runs. */
  final?: false;
  /** Present only when the sweep names pretrained weights: each architecture's start, as resolved at submission. */
  pretrained?: Partial<Record<Architecture, PretrainedRef>>;
  /** Present only when the sweep stops hopeless search trials early (ASHA rungs and eta). */
  earlyStopping?: SuccessiveHalving;
  /** Present only when the sweep is trained by another trainer than tfjs (BASELINE_TRAINER; see trainers.ts). */
  trainer?: Exclude<TrainerName, "tfjs">;
}

/** Imported weights a trial starts from (the head is replaced for the scenario's classes). */
export interface PretrainedRef {
  name: string;
  sha256: string;
}

export interface ResolveInput {
  preset?: string;
  overrides?: unknown;
  architectures: readonly string[];
  task: Task;
  modality: "ct" | "radiograph";
  seed: number;
  /** The weights `overrides.pretrained` names, looked up by the caller (the team's weights of that name and architecture). */
  pretrained?: Partial<Record<Architecture, PretrainedRef>>;
  /** What one sweep may cost on this server. @defaultValue DEFAULT_SWEEP_BOUNDS */
  bounds?: SweepBounds;
  /** The trainer that trains the sweep. @defaultValue "tfjs" */
  trainer?: TrainerName;
}

function fail(path: string, message: string): never {
  throw new SpecError(`${path}: ${message}`, [{ path, message }]);
}

export function resolveSweepSpec(input: ResolveInput): SweepSpec {
  const presetName = input.preset ?? "data-stock-2020";
  const preset = getPreset(presetName) ?? fail("preset", `unknown preset '${presetName}' (known: ${presetNames().join(", ")})`);
  const parsed = SweepOverrides.safeParse(input.overrides ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: ["overrides", ...i.path.map(String)].join("."), message: i.message }));
    throw new SpecError(`invalid overrides: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  const o = parsed.data;
  if (!Task.safeParse(input.task).success) fail("task", `must be "binary" or "multiclass", got ${JSON.stringify(input.task)}`);
  if (input.modality !== "ct" && input.modality !== "radiograph") fail("modality", `must be "ct" or "radiograph", got ${JSON.stringify(input.modality)}`);
  if (input.architectures.length === 0) fail("architectures", "at least one architecture is needed");
  const architectures = input.architectures.map((a, i) => {
    const r = Architecture.safeParse(a);
    return r.success ? r.data : fail(`architectures.${i}`, `unknown architecture '${a}' (known: ${Architecture.options.join(", ")})`);
  });
  if (new Set(architectures).size !== architectures.length) fail("architectures", "an architecture is listed twice");
  if (!Number.isInteger(input.seed) || input.seed < 0 || input.seed > 2 ** 31 - 1) fail("seed", `must be a whole number in [0, 2^31 - 1], got ${input.seed}`);

  const batchSize = { ...preset.batchSize };
  if (typeof o.batchSize === "number") for (const a of Object.keys(batchSize) as Architecture[]) batchSize[a] = o.batchSize;
  else if (o.batchSize) Object.assign(batchSize, o.batchSize);

  const subsetsPerRate = o.subsetsPerRate ?? preset.subsetsPerRate;
  const augmentations = o.augmentations ? AUGMENTATIONS.filter((a) => o.augmentations!.includes(a)) : [...preset.augmentations];
  const total = 2 ** augmentations.length;
  if (!(o.allSubsets ?? preset.allSubsets) && subsetsPerRate > total) {
    fail("overrides.subsetsPerRate", `asks for ${subsetsPerRate} distinct augmentation subsets per learning rate but only ${total} exist (2^${augmentations.length} subsets of ${augmentations.length} augmentations)`);
  }
  const pretrained = resolvePretrained(o.pretrained, architectures, input.pretrained);
  const trainerParsed = TrainerName.safeParse(input.trainer ?? BASELINE_TRAINER);
  const trainer = trainerParsed.success ? trainerParsed.data : fail("trainer", `unknown trainer ${JSON.stringify(input.trainer)} (known: ${TrainerName.options.join(", ")})`);
  const searchEpochs = o.searchEpochs ?? preset.searchEpochs;
  const earlyStopping = o.earlyStopping ?? preset.earlyStopping ?? undefined;
  if (earlyStopping) {
    const issues = earlyStoppingIssues(earlyStopping, searchEpochs);
    if (issues.length) throw new SpecError(`invalid overrides: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  }
  const spec: SweepSpec = {
    preset: preset.name,
    seed: input.seed,
    task: input.task,
    modality: input.modality,
    architectures,
    learningRates: o.learningRates ?? [...preset.learningRates],
    subsetsPerRate,
    allSubsets: o.allSubsets ?? preset.allSubsets,
    augmentations,
    searchEpochs,
    finalEpochs: o.finalEpochs ?? preset.finalEpochs,
    patience: o.patience ?? preset.patience,
    minDelta: o.minDelta ?? preset.minDelta,
    batchSize,
    imageSize: o.imageSize ?? preset.imageSize,
    augmentationParams: {
      ...preset.augmentationParams,
      brightness: preset.brightnessByModality[input.modality],
      ...Object.fromEntries(Object.entries(o.augmentationParams ?? {}).filter(([, v]) => v !== undefined)),
    } as SweepSpec["augmentationParams"],
    schedule: { ...preset.schedule, ...Object.fromEntries(Object.entries(o.schedule ?? {}).filter(([, v]) => v !== undefined)) } as SweepSpec["schedule"],
    optimizer: preset.optimizer,
    loss: preset.loss,
    selectionMetric: o.selectionMetric ?? preset.selectionMetric[input.task],
    // Stored only when false, so that default sweeps keep their spec (and plan hash) as before.
    ...(o.final === false ? { final: false as const } : {}),
    ...(pretrained ? { pretrained } : {}),
    // Stored only when on, so that sweeps without it keep their spec (and plan hash) as before.
    ...(earlyStopping ? { earlyStopping: { rungs: [...earlyStopping.rungs], eta: earlyStopping.eta } } : {}),
    // Stored only when it is not tfjs, so that earlier sweeps keep their spec (and plan hash) as before.
    ...(trainer !== BASELINE_TRAINER ? { trainer: trainer as Exclude<TrainerName, "tfjs"> } : {}),
  };
  checkBounds(spec, input.bounds ?? DEFAULT_SWEEP_BOUNDS, o);
  return spec;
}

/** Each architecture `overrides.pretrained` names must be in the sweep and resolved to imported weights. */
function resolvePretrained(names: SweepOverrides["pretrained"], architectures: Architecture[], resolved: ResolveInput["pretrained"]): SweepSpec["pretrained"] {
  const entries = Object.entries(names ?? {}) as Array<[Architecture, string]>;
  if (!entries.length) return undefined;
  const out: Partial<Record<Architecture, PretrainedRef>> = {};
  for (const [arch, name] of entries) {
    const path = `overrides.pretrained.${arch}`;
    if (!architectures.includes(arch)) fail(path, `${arch} is not one of this sweep's architectures (${architectures.join(", ")})`);
    const ref = resolved?.[arch];
    if (!ref || ref.name !== name) fail(path, `no weights named '${name}' for ${arch}`);
    out[arch] = { name: ref.name, sha256: ref.sha256 };
  }
  return out;
}
