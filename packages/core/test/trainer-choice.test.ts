/** A sweep may name its trainer; sweeps that do not (or name tfjs) keep their spec, plan hash and trial keys. */
import { describe, expect, it } from "vitest";
import { planTrials, resolveSweepSpec, SpecError, sweepTrainer } from "../src/index.ts";

const spec = (seed: number, extra: Partial<Parameters<typeof resolveSweepSpec>[0]> = {}) =>
  resolveSweepSpec({ architectures: ["resnet18"], task: "binary", modality: "ct", seed, ...extra });

// The stored hash of plan.test.ts: the plan of seed 2020 as every sweep before the trainer choice stored it.
const STORED_HASH = "6724fdaaf9f9cf3607a91e50bd7ba5431b5cb693b7e6892ed7e8595defd65230";

describe("choosing the trainer", () => {
  it("naming tfjs changes nothing: the stored plan hash, the spec and the trial keys are those of a sweep that names none", () => {
    expect(planTrials(spec(2020, { trainer: "tfjs" })).planHash).toBe(STORED_HASH);
    expect(spec(2020, { trainer: "tfjs" })).toEqual(spec(2020));
    expect("trainer" in spec(2020, { trainer: "tfjs" })).toBe(false);
    expect(sweepTrainer(spec(2020))).toBe("tfjs");
  });

  it("pytorch is stored with the sweep and is part of its plan hash; the trials (and their keys) are the same", () => {
    const torch = spec(2020, { trainer: "pytorch" });
    expect(torch.trainer).toBe("pytorch");
    expect(sweepTrainer(torch)).toBe("pytorch");
    const a = planTrials(torch);
    const b = planTrials(spec(2020));
    expect(a.planHash).not.toBe(STORED_HASH);
    expect(a.trials).toEqual(b.trials);
  });

  it("an unknown trainer is refused, naming the field and the known ones", () => {
    let err: unknown;
    try {
      spec(1, { trainer: "jax" as never });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).issues).toEqual([{ path: "trainer", message: 'unknown trainer "jax" (known: tfjs, pytorch)' }]);
  });
});
