import { describe, expect, it } from "vitest";
import { planTrials, resolveSweepSpec, SpecError } from "../src/index.ts";

const input = { architectures: ["small_cnn"], task: "binary" as const, modality: "ct" as const, seed: 7 };

describe("per-sweep selection metric and final stage options", () => {
  it("leave a default sweep's spec and plan hash as they were (no new keys stored)", () => {
    const spec = resolveSweepSpec(input);
    expect("final" in spec).toBe(false);
    expect(spec.selectionMetric).toBe("auc");
    // Asking for the defaults explicitly is the same plan.
    const explicit = resolveSweepSpec({ ...input, overrides: { selectionMetric: "auc", final: true } });
    expect(planTrials(explicit).planHash).toBe(planTrials(spec).planHash);
  });

  it("store a chosen metric and `final: false` with the sweep; each changes the plan hash", () => {
    const base = planTrials(resolveSweepSpec(input)).planHash;
    const byLoss = resolveSweepSpec({ ...input, overrides: { selectionMetric: "valLoss" } });
    expect(byLoss.selectionMetric).toBe("valLoss");
    expect(planTrials(byLoss).trials.every((t) => t.selectionMetric === "valLoss")).toBe(true);
    expect(planTrials(byLoss).planHash).not.toBe(base);
    const noFinal = resolveSweepSpec({ ...input, overrides: { final: false } });
    expect(noFinal.final).toBe(false);
    expect(planTrials(noFinal).planHash).not.toBe(base);
  });

  it("refuse an unknown metric naming the field and the choices", () => {
    try {
      resolveSweepSpec({ ...input, overrides: { selectionMetric: "speed" } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).issues[0]!.path).toBe("overrides.selectionMetric");
      expect((e as SpecError).issues[0]!.message).toMatch(/macroF1/);
    }
  });
});
