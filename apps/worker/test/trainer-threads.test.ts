/** How a worker node shares its cores among its trainer processes (HYPERSWEEP_TRAINER_THREADS). */
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, workerEnv } from "@hypersweep/config";
import { trainerThreads, workerConcurrency } from "../src/worker.ts";

const cfg = (env: Record<string, string>) => parseEnv(workerEnv, env);

describe("threads per trainer process", () => {
  it("shares the cores out over the trainers that run at once, at least one each", () => {
    expect(trainerThreads(cfg({}), 8)).toBe(8); // one trainer: all cores
    expect(trainerThreads(cfg({ HYPERSWEEP_CONCURRENCY: "2" }), 8)).toBe(4);
    expect(trainerThreads(cfg({ HYPERSWEEP_CONCURRENCY: "3" }), 8)).toBe(2);
    expect(trainerThreads(cfg({ HYPERSWEEP_CONCURRENCY: "4" }), 2)).toBe(1);
    expect(workerConcurrency(cfg({ HYPERSWEEP_GPUS: "0,1" }))).toBe(2);
    expect(trainerThreads(cfg({ HYPERSWEEP_GPUS: "0,1" }), 16)).toBe(8); // one trainer per GPU
  });

  it("takes HYPERSWEEP_TRAINER_THREADS as given", () => {
    expect(trainerThreads(cfg({ HYPERSWEEP_TRAINER_THREADS: "3", HYPERSWEEP_CONCURRENCY: "4" }), 2)).toBe(3);
  });

  it("refuses a thread count that is not a positive integer, naming the variable", () => {
    for (const bad of ["0", "-2", "1.5", "many"]) {
      const err = (() => { try { cfg({ HYPERSWEEP_TRAINER_THREADS: bad }); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable)).toEqual(["HYPERSWEEP_TRAINER_THREADS"]);
    }
  });
});
