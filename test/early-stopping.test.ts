/**
 * Early stopping of search trials (ASHA) end to end: real HTTP, Postgres, Redis, worker processes and the fixture
 * trainer, whose validation AUC is a known function of each trial's configuration (test/fixtures/fake-trainer.mjs),
 * so the test knows every trial's score at every rung and which trial must win.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trialsTable } from "../apps/cli/src/render.ts";
import { eventually, startStack, sweepBody, type Stack } from "./helpers/stack.ts";

interface ApiTrial {
  id: string; key: string; position: number; stage: string; status: string; architecture: string; learningRate: number; augmentations: string[];
  epochsDone: number; bestEpoch: number | null; valAuc: number | null; stoppedEarlyAt: number | null; attemptCount: number;
}

/** The fixture trainer's validation AUC for a trial at an epoch (its formula, written out again). */
function fixtureAuc(t: { learningRate: number; augmentations: string[]; architecture: string }, epoch: number, epochs: number): number {
  const base = createHash("sha256").update(`${t.learningRate}|${t.augmentations.join(",")}|${t.architecture}`).digest().readUInt32BE(0) / 2 ** 32;
  return Math.min(0.999, 0.5 + 0.45 * base * (epoch / epochs));
}

async function finished(s: Stack, id: string, ms = 120_000) {
  return eventually(async () => {
    const r = await s.http("GET", `/v1/sweeps/${id}`);
    return ["succeeded", "failed", "cancelled"].includes(r.body.status) ? r.body : null;
  }, ms);
}

const GRID = { learningRates: [1e-3, 1e-4, 1e-5], subsetsPerRate: 4, imageSize: 16 };
const EPOCHS = 8;

describe("early stopping of search trials (ASHA)", () => {
  let s: Stack;
  const stoppedKeys: string[] = [];
  beforeAll(async () => {
    s = await startStack("asha");
  });
  afterAll(async () => {
    await s?.close();
  });

  it("refuses a bad option with 400 naming the field", async () => {
    const bad = async (earlyStopping: unknown, extra: Record<string, unknown> = {}) =>
      s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 10, ...extra, earlyStopping } }));
    for (const [es, path] of [
      [{ rungs: [3, 3], eta: 3 }, "overrides.earlyStopping.rungs"],
      [{ rungs: [3, 10], eta: 3 }, "overrides.earlyStopping.rungs.1"],
      [{ rungs: [3], eta: 1 }, "overrides.earlyStopping.eta"],
      [{ rungs: [3] }, "overrides.earlyStopping.eta"],
    ] as const) {
      const r = await bad(es);
      expect(r.status).toBe(400);
      expect(r.body.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect(await s.db.sweep.count()).toBe(0);
  });

  it("stops exactly the trials the rule says, at the rungs it says, never the winner; they show as stopped early and the final stage retrains the winner", async () => {
    const rungs = [2, 4];
    const eta = 3;
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "3", FAKE_EPOCH_MS: "30" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, {
      overrides: { ...GRID, searchEpochs: EPOCHS, earlyStopping: { rungs, eta }, final: true, finalEpochs: 3, patience: 2 },
    }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const done = await finished(s, id);
    expect(done.status).toBe("succeeded");
    expect(done.stages.search.counts.succeeded).toBe(12);
    expect(done.stages.final.counts.succeeded).toBe(1);
    expect(done.stages.search.stoppedEarly).toBeGreaterThan(0);

    const trials = (await s.http("GET", `/v1/sweeps/${id}/trials`)).body.trials as ApiTrial[];
    const search = trials.filter((t) => t.stage === "search");
    const byId = new Map(search.map((t) => [t.id, t]));
    const decisions = await s.db.rungDecision.findMany({ where: { sweepId: id }, orderBy: [{ rung: "asc" }, { reached: "asc" }] });
    for (const rung of rungs) {
      const at = decisions.filter((d) => d.rung === rung);
      // Every trial that reached the rung was decided once, in a strict order.
      expect(at.map((d) => d.reached)).toEqual(Array.from({ length: at.length }, (_, i) => i + 1));
      expect(at.length).toBe(search.filter((t) => t.epochsDone >= rung).length);
      // The rule written out, over the fixture's known scores in arrival order.
      const seen: number[] = [];
      for (const d of at) {
        const v = fixtureAuc(byId.get(d.trialId)!, rung, EPOCHS);
        const rank = 1 + seen.filter((x) => x > v).length;
        seen.push(v);
        expect(d.selectionScore).toBeCloseTo(v, 12);
        expect({ rank: d.rank, continues: d.continues }).toEqual({ rank, continues: seen.length < eta || rank <= Math.floor(seen.length / eta) });
      }
    }
    // Where each trial stopped follows from its decisions: at its first "stop", else it ran every epoch.
    for (const t of search) {
      const stop = decisions.find((d) => d.trialId === t.id && !d.continues);
      expect(t.stoppedEarlyAt).toBe(stop?.rung ?? null);
      expect(t.epochsDone).toBe(stop?.rung ?? EPOCHS);
      expect(t.status).toBe("succeeded");
      expect(t.bestEpoch).toBe(t.epochsDone);
      expect(t.valAuc).toBeCloseTo(fixtureAuc(t, t.epochsDone, EPOCHS), 12);
      expect(t.attemptCount).toBe(1);
      if (stop) stoppedKeys.push(t.key);
    }
    expect(stoppedKeys.length).toBeGreaterThanOrEqual(4);
    expect(done.stages.search.stoppedEarly).toBe(stoppedKeys.length);
    expect(search.filter((t) => t.stoppedEarlyAt === null).length).toBeGreaterThanOrEqual(2);

    // The eventual winner (the best configuration of the fixture) ran all its epochs and was retrained.
    const best = [...search].sort((a, b) => fixtureAuc(b, EPOCHS, EPOCHS) - fixtureAuc(a, EPOCHS, EPOCHS))[0]!;
    expect(best.stoppedEarlyAt).toBeNull();
    const final = trials.find((t) => t.stage === "final")!;
    expect([final.learningRate, final.augmentations]).toEqual([best.learningRate, best.augmentations]);

    // Visible where users look: the trial, the CLI's status table, the report.
    const stopped = search.find((t) => t.stoppedEarlyAt !== null)!;
    const detail = (await s.http("GET", `/v1/trials/${stopped.id}`)).body;
    expect(detail.stoppedEarlyAt).toBe(stopped.stoppedEarlyAt);
    expect(detail.epochs.map((e: { epoch: number }) => e.epoch)).toEqual(Array.from({ length: stopped.stoppedEarlyAt! }, (_, i) => i + 1));
    expect(detail.rungDecisions.at(-1)).toMatchObject({ rung: stopped.stoppedEarlyAt, continues: false });
    expect(trialsTable(trials).match(/stopped early/g)).toHaveLength(stoppedKeys.length);
    const md = (await s.http("GET", `/v1/sweeps/${id}/report?format=md`)).body as string;
    expect(md).toContain(`Early stopping (ASHA): at epochs 2, 4`);
    expect(md.match(/\(stopped at \d\)/g)).toHaveLength(stoppedKeys.length);
    // Progress counts a stopped trial as done.
    expect(done.progress.fraction).toBe(1);
    await s.stopWorkers();
  }, 180_000);

  it("the data-stock-2020 preset never stops a trial: the same sweep without the option runs every trial to its last epoch", async () => {
    expect(stoppedKeys.length).toBeGreaterThan(0);
    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "3", FAKE_EPOCH_MS: "20" });
    const res = await s.http("POST", "/v1/sweeps", { ...sweepBody(s.dataset.id, { overrides: { ...GRID, searchEpochs: EPOCHS } }), preset: "data-stock-2020" });
    expect(res.status).toBe(201);
    const done = await finished(s, res.body.id);
    expect(done.status).toBe("succeeded");
    expect(done.spec.earlyStopping).toBeUndefined();
    expect(done.stages.search.stoppedEarly).toBe(0);
    const trials = (await s.http("GET", `/v1/sweeps/${res.body.id}/trials`)).body.trials as ApiTrial[];
    expect(trials.map((t) => [t.epochsDone, t.stoppedEarlyAt])).toEqual(trials.map(() => [EPOCHS, null]));
    // The very trials the option stopped above.
    expect(stoppedKeys.every((k) => trials.some((t) => t.key === k))).toBe(true);
    expect(await s.db.rungDecision.count({ where: { sweepId: res.body.id } })).toBe(0);
    await s.stopWorkers();
  }, 120_000);

  it("a stopped trial frees its slot at once: the worker does not wait for a trainer that hangs after SIGTERM", async () => {
    // One slot, and a trainer killed only after 10 minutes: were the worker to wait for it, the first stopped trial
    // would hold the slot and the sweep could not finish within this test's time.
    const worker = s.spawnWorker({ HYPERSWEEP_CONCURRENCY: "1", FAKE_EPOCH_MS: "30", FAKE_TERM: "hang", HYPERSWEEP_KILL_GRACE_MS: "600000" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, {
      overrides: { learningRates: [1e-3, 1e-4, 1e-5], subsetsPerRate: 2, imageSize: 16, searchEpochs: 6, earlyStopping: { rungs: [2], eta: 2 } },
    }));
    const done = await finished(s, res.body.id, 60_000);
    expect(done.status).toBe("succeeded");
    const trials = (await s.http("GET", `/v1/sweeps/${res.body.id}/trials`)).body.trials as ApiTrial[];
    const stopped = trials.filter((t) => t.stoppedEarlyAt === 2);
    expect(stopped.length).toBeGreaterThanOrEqual(2);
    // Whatever a stopped trainer did after its stop, nothing of it was recorded.
    for (const t of stopped) expect(await s.db.epoch.count({ where: { trialId: t.id } })).toBe(2);
    worker.kill("SIGKILL"); // its hung trainers see their worker gone and exit
    await s.stopWorkers();
  }, 90_000);

  it("exactly once when the worker is killed right after a rung epoch: the decision stands, nothing is decided or recorded twice", async () => {
    const doomed = s.spawnWorker({ HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_WORKER_ID: "doomed", FAKE_EPOCH_MS: "700" });
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, {
      overrides: { learningRates: [1e-3, 1e-4], subsetsPerRate: 2, imageSize: 16, searchEpochs: 5, earlyStopping: { rungs: [2], eta: 2 } },
    }));
    const id = res.body.id as string;
    // The first rung decision that lets a trial go on, then the kill, before its next epoch.
    const kept = await eventually(() => s.db.rungDecision.findFirst({ where: { sweepId: id, continues: true } }), 60_000, 20);
    doomed.kill("SIGKILL");
    const before = await s.db.rungDecision.findMany({ where: { sweepId: id } });
    expect((await s.db.trial.findUniqueOrThrow({ where: { id: kept.trialId } })).status).toBe("running");

    await s.startWorker({ HYPERSWEEP_CONCURRENCY: "2", HYPERSWEEP_WORKER_ID: "rescuer", FAKE_EPOCH_MS: "20" });
    const done = await finished(s, id, 90_000);
    expect(done.status).toBe("succeeded");

    // Decisions taken before the kill are unchanged (same attempt, same time): the replayed rung epoch read them back.
    const after = await s.db.rungDecision.findMany({ where: { sweepId: id } });
    for (const d of before) expect(after.find((a) => a.trialId === d.trialId)).toEqual(d);
    expect(after.map((d) => d.reached).sort()).toEqual([1, 2, 3, 4]);
    const trials = await s.db.trial.findMany({ where: { sweepId: id }, include: { attempts: { orderBy: { number: "asc" } }, epochs: { orderBy: { epoch: "asc" } } } });
    for (const t of trials) {
      const d = after.find((x) => x.trialId === t.id)!;
      // One result per trial, recorded once; every epoch once, up to where the trial stopped.
      expect(t.attempts.filter((a) => a.status === "succeeded")).toHaveLength(1);
      expect(t.epochs.map((e) => e.epoch)).toEqual(Array.from({ length: d.continues ? 5 : 2 }, (_, i) => i + 1));
      expect(t.stoppedEarlyAt).toBe(d.continues ? null : 2);
      // A trial stopped by the killed worker was finished with its decision: no later attempt trained it again.
      if (!d.continues && before.some((b) => b.trialId === t.id)) expect(t.attempts.map((a) => a.status)).toEqual(["succeeded"]);
    }
    const killed = trials.find((t) => t.id === kept.trialId)!;
    expect(killed.attempts.map((a) => a.status)).toEqual(["lost", "succeeded"]);
    expect(killed.attempts[1]!.resumedFrom).toBeGreaterThanOrEqual(2);
    await s.stopWorkers();
  }, 150_000);
});
