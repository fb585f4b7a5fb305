import { describe, expect, it } from "vitest";
import { DATA_STOCK_2020, planTrials, resolveSweepSpec, SpecError, SweepOverrides, type ResolveInput } from "../src/index.ts";

const base: ResolveInput = { architectures: ["resnet18"], task: "binary", modality: "ct", seed: 1 };
const issuesOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    expect((e as SpecError).code).toBe("SPEC_INVALID");
    return (e as SpecError).issues;
  }
  throw new Error("expected a SpecError");
};

describe("the data-stock-2020 preset", () => {
  it("holds every number of the paper's protocol", () => {
    const s = resolveSweepSpec({ ...base, architectures: ["resnet18", "resnet50", "wide_resnet50_2", "densenet121", "densenet169"] });
    expect(s).toMatchObject({
      preset: "data-stock-2020",
      learningRates: [1e-3, 1e-4, 1e-5, 1e-6],
      subsetsPerRate: 5,
      allSubsets: false,
      augmentations: ["rotation", "brightness", "hflip", "center_crop", "contrast"],
      searchEpochs: 30,
      finalEpochs: 100,
      patience: 10,
      imageSize: 512,
      schedule: { stepSize: 7, gamma: 0.1 },
      optimizer: "adam",
      loss: "cross_entropy",
      selectionMetric: "auc",
      augmentationParams: { rotationDegrees: 90, brightness: 0.2, contrast: 0.2, centerCropFraction: 0.8 },
    });
    expect(s.batchSize).toMatchObject({ resnet18: 32, resnet50: 16, wide_resnet50_2: 8, densenet121: 8, densenet169: 8 });
    expect(Object.isFrozen(DATA_STOCK_2020)).toBe(true);
  });
  it("five architectures give the paper's 100 trials per dataset scenario, each with its architecture's batch size", () => {
    const s = resolveSweepSpec({ ...base, architectures: ["resnet18", "resnet50", "wide_resnet50_2", "densenet121", "densenet169"] });
    const { trials } = planTrials(s);
    expect(trials).toHaveLength(100);
    expect(trials.map((t) => t.position)).toEqual([...Array(100).keys()]);
    expect(trials.filter((t) => t.architecture === "resnet50").every((t) => t.batchSize === 16)).toBe(true);
    expect(trials.filter((t) => t.architecture === "densenet169").every((t) => t.batchSize === 8)).toBe(true);
  });
});

describe("overrides", () => {
  it("override any field; the merged spec is explicit", () => {
    const s = resolveSweepSpec({
      ...base,
      overrides: { learningRates: [3e-4], subsetsPerRate: 2, searchEpochs: 3, batchSize: 4, imageSize: 64, schedule: { gamma: 0.5 }, augmentationParams: { brightness: 0.11 } },
    });
    expect(s).toMatchObject({ learningRates: [3e-4], subsetsPerRate: 2, searchEpochs: 3, imageSize: 64, schedule: { stepSize: 7, gamma: 0.5 } });
    expect(s.batchSize.densenet121).toBe(4);
    expect(s.augmentationParams).toEqual({ rotationDegrees: 90, brightness: 0.11, contrast: 0.2, centerCropFraction: 0.8 });
    expect(planTrials(s).trials).toHaveLength(2);
  });
  it("a per-architecture batch size overrides only that architecture", () => {
    const s = resolveSweepSpec({ ...base, architectures: ["resnet18", "resnet50"], overrides: { batchSize: { resnet50: 4 } } });
    expect([s.batchSize.resnet18, s.batchSize.resnet50]).toEqual([32, 4]);
  });
  it("a smaller augmentation set: stored in canonical order, so its order in the request does not change the plan", () => {
    const a = resolveSweepSpec({ ...base, overrides: { augmentations: ["contrast", "hflip", "rotation"], subsetsPerRate: 8 } });
    const b = resolveSweepSpec({ ...base, overrides: { augmentations: ["rotation", "contrast", "hflip"], subsetsPerRate: 8 } });
    expect(a.augmentations).toEqual(["rotation", "hflip", "contrast"]);
    expect(planTrials(a).planHash).toBe(planTrials(b).planHash);
    const subsets = planTrials(a).trials.filter((t) => t.learningRate === 1e-3).map((t) => t.augmentations.join("+"));
    expect(new Set(subsets).size).toBe(8); // all 2^3 subsets
    expect(subsets.every((x) => x.split("+").every((n) => n === "" || ["rotation", "hflip", "contrast"].includes(n)))).toBe(true);
  });
  it("asking for more subsets than a smaller set has says how many exist", () => {
    const issues = issuesOf(() => resolveSweepSpec({ ...base, overrides: { augmentations: ["hflip", "contrast"], subsetsPerRate: 5 } }));
    expect(issues).toEqual([{ path: "overrides.subsetsPerRate", message: expect.stringMatching(/asks for 5 .* only 4 exist \(2\^2 subsets of 2 augmentations\)/) }]);
  });
  it("allSubsets makes more than 32 per rate irrelevant", () => {
    const s = resolveSweepSpec({ ...base, overrides: { allSubsets: true, subsetsPerRate: 99, learningRates: [1e-4] } });
    expect(planTrials(s).trials).toHaveLength(32);
  });
  it("unknown and bad override fields are each named", () => {
    const issues = issuesOf(() => resolveSweepSpec({ ...base, overrides: { searchEpochs: 0, augmentations: ["blur"], schedule: { gamma: 2 } } }));
    expect(issues.map((i) => i.path).sort()).toEqual(["overrides.augmentations.0", "overrides.schedule.gamma", "overrides.searchEpochs"]);
    expect(SweepOverrides.safeParse({ epochs: 3 }).success).toBe(false);
  });
  it("task, modality, seed and architectures are checked", () => {
    expect(issuesOf(() => resolveSweepSpec({ ...base, task: "regression" as never }))[0]!.path).toBe("task");
    expect(issuesOf(() => resolveSweepSpec({ ...base, modality: "mri" as never }))[0]!.path).toBe("modality");
    expect(issuesOf(() => resolveSweepSpec({ ...base, seed: 1.5 }))[0]!.path).toBe("seed");
    expect(issuesOf(() => resolveSweepSpec({ ...base, architectures: [] }))[0]!.path).toBe("architectures");
    expect(issuesOf(() => resolveSweepSpec({ ...base, architectures: ["resnet18", "resnet18"] }))[0]!.message).toMatch(/listed twice/);
  });
});
