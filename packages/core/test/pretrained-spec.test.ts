import { describe, expect, it } from "vitest";
import { planTrials, resolveSweepSpec, SpecError } from "../src/index.ts";

const SHA = "a".repeat(64);
const spec = (extra: Partial<Parameters<typeof resolveSweepSpec>[0]> = {}) =>
  resolveSweepSpec({ architectures: ["resnet18", "small_cnn"], task: "binary", modality: "ct", seed: 2020, ...extra });

describe("overrides.pretrained", () => {
  it("leaves a sweep without pretrained weights exactly as before (no field, same plan hash)", () => {
    const plain = spec();
    expect("pretrained" in plain).toBe(false);
    expect(planTrials(plain).trials.some((t) => "pretrainedWeights" in t)).toBe(false);
    expect(planTrials(spec({ overrides: { pretrained: {} } })).planHash).toBe(planTrials(plain).planHash);
  });

  it("puts the resolved weights on the sweep and on every trial of that architecture, and changes the plan hash", () => {
    const s = spec({ overrides: { pretrained: { resnet18: "imagenet" } }, pretrained: { resnet18: { name: "imagenet", sha256: SHA } } });
    expect(s.pretrained).toEqual({ resnet18: { name: "imagenet", sha256: SHA } });
    const plan = planTrials(s);
    expect(plan.trials.filter((t) => t.architecture === "resnet18").every((t) => t.pretrainedWeights?.sha256 === SHA)).toBe(true);
    expect(plan.trials.filter((t) => t.architecture === "small_cnn").every((t) => t.pretrainedWeights === undefined)).toBe(true);
    expect(plan.planHash).not.toBe(planTrials(spec()).planHash);
    const other = spec({ overrides: { pretrained: { resnet18: "imagenet" } }, pretrained: { resnet18: { name: "imagenet", sha256: "b".repeat(64) } } });
    expect(planTrials(other).planHash).not.toBe(plan.planHash);
  });

  it("names the field for an architecture outside the sweep or weights that were not resolved", () => {
    const issues = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(SpecError);
        return (e as SpecError).issues;
      }
      throw new Error("expected a SpecError");
    };
    expect(issues(() => spec({ overrides: { pretrained: { densenet121: "x" } } }))).toEqual([{ path: "overrides.pretrained.densenet121", message: expect.stringMatching(/not one of this sweep's architectures/) }]);
    expect(issues(() => spec({ overrides: { pretrained: { resnet18: "x" } } }))).toEqual([{ path: "overrides.pretrained.resnet18", message: "no weights named 'x' for resnet18" }]);
    expect(issues(() => spec({ overrides: { pretrained: { vgg: "x" } } }))[0]!.path).toMatch(/^overrides\.pretrained/);
  });
});
