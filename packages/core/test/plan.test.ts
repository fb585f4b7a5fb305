import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { planTrials, resolveSweepSpec, sampleSubsets, subsetDimension, mulberry32, SpecError, allSubsets, parseDimension, canonicalJson } from "../src/index.ts";

const spec = (seed: number, extra: Partial<Parameters<typeof resolveSweepSpec>[0]> = {}) =>
  resolveSweepSpec({ architectures: ["resnet18"], task: "binary", modality: "ct", seed, ...extra });

describe("the plan", () => {
  it("the default preset gives 20 trials for one architecture: 4 learning rates × 5 distinct subsets", () => {
    const { trials } = planTrials(spec(1));
    expect(trials).toHaveLength(20);
    expect([...new Set(trials.map((t) => t.learningRate))]).toEqual([1e-3, 1e-4, 1e-5, 1e-6]);
    for (const lr of [1e-3, 1e-4, 1e-5, 1e-6]) {
      const subsets = trials.filter((t) => t.learningRate === lr).map((t) => t.augmentations.join("+"));
      expect(new Set(subsets).size).toBe(5);
    }
    expect(trials.map((t) => t.position)).toEqual([...Array(20).keys()]);
    expect(trials.every((t) => t.epochs === 30 && t.batchSize === 32 && t.imageSize === 512 && t.stage === "search")).toBe(true);
    expect(new Set(trials.map((t) => t.key)).size).toBe(20);
  });

  it("is reproducible: the same seed gives the same list and hash; another seed draws differently", () => {
    const a = planTrials(spec(42));
    const b = planTrials(spec(42));
    const c = planTrials(spec(43));
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(a.planHash).toBe(b.planHash);
    expect(c.planHash).not.toBe(a.planHash);
    expect(c.trials.map((t) => t.key)).not.toEqual(a.trials.map((t) => t.key));
  });

  it("is stable for a fixed seed (snapshot of the draws)", () => {
    expect(planTrials(spec(2020)).trials.map((t) => t.key)).toMatchSnapshot();
  });

  it("adding an architecture does not change another architecture's draws", () => {
    const one = planTrials(spec(5)).trials.map((t) => t.key);
    const two = planTrials(spec(5, { architectures: ["resnet18", "densenet121"] })).trials.filter((t) => t.architecture === "resnet18").map((t) => t.key);
    expect(two).toEqual(one);
  });

  it("takes the preset's batch size per architecture and the brightness per modality", () => {
    const s = resolveSweepSpec({ architectures: ["resnet50", "densenet169"], task: "multiclass", modality: "radiograph", seed: 1 });
    expect(s.batchSize.resnet50).toBe(16);
    expect(s.batchSize.densenet169).toBe(8);
    expect(s.augmentationParams.brightness).toBe(0.11);
    expect(s.selectionMetric).toBe("f1");
    expect(resolveSweepSpec({ architectures: ["resnet18"], task: "binary", modality: "ct", seed: 1 }).augmentationParams.brightness).toBe(0.2);
  });

  it("all subsets as a grid: 32 per learning rate", () => {
    const { trials } = planTrials(spec(1, { overrides: { allSubsets: true, learningRates: [1e-3] } }));
    expect(trials).toHaveLength(32);
    expect(new Set(trials.map((t) => t.augmentations.join("+"))).size).toBe(32);
  });

  it("refuses more distinct subsets than exist, saying how many exist", () => {
    expect(() => spec(1, { overrides: { subsetsPerRate: 33 } })).toThrow(/only 32 exist/);
    try {
      spec(1, { overrides: { subsetsPerRate: 33 } });
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).issues[0].path).toBe("overrides.subsetsPerRate");
    }
  });

  it("names unknown presets, architectures and override fields", () => {
    expect(() => spec(1, { preset: "nope" })).toThrow(/unknown preset 'nope'/);
    expect(() => spec(1, { architectures: ["vgg"] })).toThrow(/architectures\.0: unknown architecture 'vgg'/);
    try {
      spec(1, { overrides: { learningRates: [-1], colour: 1 } });
      expect.unreachable();
    } catch (e) {
      const paths = (e as SpecError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(["overrides", "overrides.learningRates.0"].sort());
    }
  });
});

describe("the subset dimension", () => {
  const dim = subsetDimension("augmentations", ["a", "b", "c", "d", "e"]);

  it("has 2^n subsets, each once", () => {
    const all = allSubsets(dim).map((s) => s.join("+"));
    expect(all).toHaveLength(32);
    expect(new Set(all).size).toBe(32);
    expect(all[0]).toBe("");
  });

  it("samples k distinct subsets, in the items' order, for any seed and k", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 32 }), (seed, k) => {
        const s = sampleSubsets(dim, k, mulberry32(seed));
        expect(new Set(s.map((x) => x.join("+"))).size).toBe(k);
        for (const sub of s) expect([...sub].sort((x, y) => dim.items.indexOf(x) - dim.items.indexOf(y))).toEqual(sub);
      }),
      { numRuns: 200 },
    );
  });

  it("draws uniformly (each subset about k/32 of the time)", () => {
    const counts = new Map<string, number>();
    const rng = mulberry32(7);
    for (let i = 0; i < 6400; i++) for (const s of sampleSubsets(dim, 5, rng)) counts.set(s.join("+"), (counts.get(s.join("+")) ?? 0) + 1);
    expect(counts.size).toBe(32);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });

  it("rejects a bad dimension with a readable error", () => {
    expect(() => parseDimension({ kind: "subset", name: "x", items: ["a", "a"] })).toThrow(/dimension.items: items must be distinct/);
    expect(() => parseDimension({ kind: "grid", name: "lr", values: [] })).toThrow(/dimension.values/);
  });
});

describe("the plan hash", () => {
  it("is fixed for a fixed spec: a stored hash stays valid across runs, machines and releases", () => {
    // If this changes, every stored sweep's plan hash stops matching its re-planned trials: that is a breaking
    // change of the plan format and needs a migration, not a snapshot update.
    expect(planTrials(spec(2020)).planHash).toBe(FIXED_HASH);
  });
  it("changes with anything that changes what would be trained", () => {
    const h = planTrials(spec(7)).planHash;
    expect(planTrials(spec(7, { overrides: { searchEpochs: 29 } })).planHash).not.toBe(h);
    expect(planTrials(spec(7, { modality: "radiograph" })).planHash).not.toBe(h);
    expect(planTrials(spec(7, { overrides: { batchSize: 16 } })).planHash).not.toBe(h);
  });
  it("is a sha256 hex digest of the canonical JSON of spec and trials", () => {
    const p = planTrials(spec(3));
    expect(p.planHash).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
  });
});

const FIXED_HASH = "6724fdaaf9f9cf3607a91e50bd7ba5431b5cb693b7e6892ed7e8595defd65230";
