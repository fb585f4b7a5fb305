/**
 * Evaluations end to end (paper, section 4) over real HTTP, Postgres, Redis/BullMQ and trainer child processes
 * (the fixture trainer's evaluate mode): a final model scored on a second dataset that shares known images with
 * the first (removal counts exact), seeded class balance, predictions that recompute the stored metrics, the
 * requests that must be refused, a worker killed mid-evaluation, and Redis losing the job.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAsBinaryReport, scoreTest, toSplitScores } from "@hypersweep/metrics";
import { ADMIN_TOKEN, eventually, ROOT, startStack, type Stack } from "./helpers/stack.ts";
import { datasetSharing, evaluationDone, finalModel, versionRows, type Row } from "./helpers/evaluations.ts";

const run = promisify(execFile);
const inScenario = (r: Row) => r.modality === "ct" && r.lungPresence === "full";

describe("evaluations of a final model", () => {
  let s: Stack;
  let model: { finalId: string; searchId: string };
  let first: Row[];
  let second: { versionId: string; shared: Row[] };
  beforeAll(async () => {
    s = await startStack("evaluations", { images: 240 });
    await s.startWorker();
    model = await finalModel(s, s.dataset.id, { modality: "ct", task: "binary" });
    first = await versionRows(s, s.dataset.versionId);
    // 3 images the model trained on, 2 it validated on, 2 of its test set: only the first 5 must be removed.
    const pick = (split: Row["split"], n: number) => first.filter((r) => r.split === split && inScenario(r)).slice(0, n);
    const shared = [...pick("train", 3), ...pick("valid", 2), ...pick("test", 2)];
    expect(shared.map((r) => r.split)).toEqual(["train", "train", "train", "valid", "valid", "test", "test"]);
    second = { ...(await datasetSharing(s, "second", join(s.tmp, "synth-stock"), shared, { images: 160 })), shared };
  }, 240_000);
  afterAll(async () => {
    await s?.close();
  });

  it("removes exactly the images the model saw, scores the rest, and keeps predictions that recompute every stored number", async () => {
    const res = await s.http("POST", "/v1/evaluations", { trial: model.finalId, dataset: "second" });
    expect(res.status).toBe(201);
    expect(res.body.kind).toBe("cross_dataset");
    expect(res.body.selection.removed).toEqual({ training: 3, validation: 2, total: 5 });
    expect(res.body.selection.available.covid19).toBeGreaterThan(2);
    expect(res.body.selection.available.other).toBeGreaterThan(2);
    const target = (await versionRows(s, second.versionId)).filter((r) => r.split === "test" && inScenario(r));
    expect(res.body.selection.testRows).toBe(target.length);

    const done = await evaluationDone(s, res.body.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(1);
    const seen = new Set(first.filter((r) => r.split !== "test" && inScenario(r)).map((r) => r.sha256));
    const p = (await s.http("GET", `/v1/evaluations/${res.body.id}/predictions`)).body;
    expect(p.classes).toEqual(["other", "covid19"]);
    expect(p.images).toEqual(target.map((r) => r.sha256).filter((h) => !seen.has(h)));
    expect(p.labels).toEqual(target.filter((r) => !seen.has(r.sha256)).map((r) => (r.diagnosis === "covid19" ? 1 : 0)));
    expect(done.result.n).toBe(p.images.length);
    // The shared test images of the first dataset are scored (the model never saw them).
    for (const r of second.shared.filter((x) => x.split === "test")) expect(p.images).toContain(r.sha256);

    const seed = done.result.intervals.auc.seed;
    const again = scoreTest(toSplitScores(p), { task: "binary", classes: p.classes, positiveClass: "covid19" }, seed);
    expect(done.result.metrics).toEqual(again.metrics);
    expect(done.result.intervals).toEqual(again.intervals);
    expect(done.result.confusionMatrix).toEqual(again.confusionMatrix);

    const list = await s.http("GET", `/v1/evaluations?trial=${model.finalId}`);
    expect(list.body.evaluations.map((e: { id: string }) => e.id)).toContain(res.body.id);
  }, 120_000);

  it("samples to a class balance with a seed: the same request is the same evaluation, another seed other rows", async () => {
    const body = { trial: model.finalId, dataset: "second", classBalance: "equal", seed: 5 };
    const a = await s.http("POST", "/v1/evaluations", body);
    expect(a.status).toBe(201);
    const { other, covid19 } = a.body.selection.scored;
    expect(other).toBe(covid19);
    expect(other).toBe(Math.min(a.body.selection.available.other, a.body.selection.available.covid19));
    const same = await s.http("POST", "/v1/evaluations", body);
    expect(same.status).toBe(200);
    expect(same.body.id).toBe(a.body.id);
    const b = await s.http("POST", "/v1/evaluations", { ...body, seed: 6 });
    expect(b.body.selection.scored).toEqual(a.body.selection.scored);
    const [pa, pb] = await Promise.all([a, b].map(async (r) => {
      await evaluationDone(s, r.body.id);
      return (await s.http("GET", `/v1/evaluations/${r.body.id}/predictions`)).body.images as string[];
    }));
    expect(pa).toHaveLength(2 * other);
    if (b.body.id !== a.body.id) expect(pa).not.toEqual(pb);
  }, 120_000);

  it("an evaluation waits like a sweep's trial: past the team's waiting quota it is 429 and nothing is stored; a repeat is still answered", async () => {
    const admin = (body: Record<string, unknown>) => s.http("PATCH", `/v1/admin/teams/${s.team.id}`, body, ADMIN_TOKEN);
    const waiting = await s.db.trial.count({ where: { teamId: s.team.id, status: "queued" } });
    expect((await admin({ maxWaiting: waiting })).status).toBe(200);
    try {
      const before = await s.db.evaluation.count();
      const refused = await s.http("POST", "/v1/evaluations", { trial: model.finalId, dataset: "second", classBalance: "equal", seed: 77 });
      expect(refused.status).toBe(429);
      expect(refused.body.error).toBe("LIMIT_EXCEEDED");
      expect(refused.body.message).toBe(`the team has ${waiting} queued trial(s) and this evaluation adds 1: over the team's waiting quota (maxWaiting) of ${waiting}`);
      expect(await s.db.evaluation.count()).toBe(before);
      // The same request as an evaluation already made adds nothing: answered as before.
      const again = await s.http("POST", "/v1/evaluations", { trial: model.finalId, dataset: "second", classBalance: "equal", seed: 5 });
      expect(again.status).toBe(200);
    } finally {
      expect((await admin({ maxWaiting: null })).status).toBe(200);
    }
  });

  it("refuses what cannot be evaluated, naming the field", async () => {
    const post = (body: Record<string, unknown>, key?: string) => s.http("POST", "/v1/evaluations", body, key);
    const search = await post({ trial: model.searchId, dataset: "second" });
    expect(search.status).toBe(400);
    expect(search.body.issues[0].path).toBe("trial");
    expect(search.body.message).toMatch(/search trial: only a final training's model can be evaluated/);

    const noTarget = await post({ trial: model.finalId });
    expect(noTarget.status).toBe(400);
    expect(noTarget.body.issues[0].path).toBe("datasetVersion");

    const task = await post({ trial: model.finalId, dataset: "second", scenario: { task: "multiclass" } });
    expect(task.status).toBe(400);
    expect(task.body.issues[0].path).toBe("scenario.task");
    const classes = await post({ trial: model.finalId, dataset: "second", scenario: { classes: ["healthy", "covid19"] } });
    expect(classes.status).toBe(400);
    expect(classes.body.issues[0].path).toBe("scenario.classes");

    const noPeer = await post({ trial: model.finalId, binarise: true });
    expect(noPeer.status).toBe(400);
    expect(noPeer.body.issues[0].path).toBe("binarise");
    expect(noPeer.body.message).toMatch(/no succeeded multiclass final model of small_cnn/);

    const balance = await post({ trial: model.finalId, dataset: "second", classBalance: { viral: 1 } });
    expect(balance.status).toBe(400);
    expect(balance.body.issues[0].path).toBe("classBalance");

    const other = await s.newTeam("other-evaluations");
    const theirs = await s.addDataset(other.id, "theirs", 20);
    expect((await post({ trial: model.finalId, datasetVersion: theirs.versionId })).status).toBe(404);
    expect((await post({ trial: model.finalId, dataset: "theirs" })).status).toBe(404);
    // Nor may another team evaluate our model.
    expect((await post({ trial: model.finalId, dataset: "theirs" }, other.apiKey)).status).toBe(404);

    // A dataset whose only CT test images are ones the model trained on: nothing is left, and the counts say why.
    const trained = first.filter((r) => r.split === "train" && inScenario(r)).slice(0, 4);
    await datasetSharing(s, "only-seen", join(s.tmp, "synth-stock"), trained, { seed: 31, ownTest: false });
    const empty = await post({ trial: model.finalId, dataset: "only-seen" });
    expect(empty.status).toBe(400);
    expect(empty.body.issues[0].path).toBe("datasetVersion");
    expect(empty.body.message).toContain("4 test rows, 0 duplicates, 4 removed as seen by the model (4 in training, 0 in validation)");
    const evaluations = await s.db.evaluation.count();
    expect(evaluations).toBeGreaterThan(0);
    expect(await s.db.evaluation.count({ where: { datasetVersionId: theirs.versionId } })).toBe(0);
  }, 120_000);

  it("binarised (Table 17): the binary model on the multiclass test set, next to the multiclass model read as COVID-19 vs rest", async () => {
    await s.stopWorkers();
    await s.startWorker({ FAKE_TEST_PREDICTIONS: "1" });
    const mc = await finalModel(s, s.dataset.id, { modality: "ct", task: "multiclass" });
    const wrong = await s.http("POST", "/v1/evaluations", { trial: mc.finalId, binarise: true });
    expect(wrong.status).toBe(400);
    expect(wrong.body.issues[0].path).toBe("binarise");

    const res = await s.http("POST", "/v1/evaluations", { trial: model.finalId, binarise: true });
    expect(res.status).toBe(201);
    expect(res.body.kind).toBe("binarised");
    expect(res.body.compareTrialId).toBe(mc.finalId);
    expect(res.body.selection.removed.total).toBe(0);
    const done = await evaluationDone(s, res.body.id);
    expect(done.status).toBe("succeeded");

    // The rows are the multiclass model's test set, labels binarised.
    const mcPred = (await s.http("GET", `/v1/trials/${mc.finalId}/predictions`)).body;
    const mcTest = mcPred.splits ? mcPred.splits.find((x: { split: string }) => x.split === "test") : mcPred.test;
    const p = (await s.http("GET", `/v1/evaluations/${res.body.id}/predictions`)).body;
    expect(p.classes).toEqual(["other", "covid19"]);
    expect([...p.images].sort()).toEqual([...mcTest.images].sort());
    const mcClasses: string[] = mcPred.classes ?? mcPred.trial.classes;
    const byHash = new Map<string, number>(mcTest.images.map((h: string, i: number) => [h, mcTest.labels[i]]));
    expect(p.labels).toEqual(p.images.map((h: string) => (mcClasses[byHash.get(h)!] === "covid19" ? 1 : 0)));

    // Both rows recompute from stored predictions: the binary model's, and the multiclass model's (argmax = COVID-19).
    const seed = done.result.intervals.auc.seed;
    expect(done.result.metrics).toEqual(scoreTest(toSplitScores(p), { task: "binary", classes: p.classes, positiveClass: "covid19" }, seed).metrics);
    const rows = p.images.map((h: string) => mcTest.images.indexOf(h));
    const mcScores = toSplitScores({ labels: rows.map((i: number) => mcTest.labels[i]), probs: rows.map((i: number) => mcTest.probs[i]) });
    const reading = readAsBinaryReport(mcScores.labels, mcScores.probs, mcClasses.indexOf("covid19"), seed);
    expect(done.result.comparison.trialId).toBe(mc.finalId);
    expect(done.result.comparison.metrics).toEqual(reading.metrics);
    expect(done.result.comparison.intervals).toEqual(reading.intervals);
    expect(done.result.comparison.n).toBe(done.result.n);
  }, 180_000);

  it("the CLI evaluates and follows an evaluation, prints both rows of a binarised one, and names a refused field", async () => {
    const cli = async (args: string[]) => {
      try {
        const r = await run("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), ...args], {
          cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey },
        });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      }
    };
    const cross = await cli(["evaluate", model.finalId, "--dataset", "second", "--balance", "covid19=1,other=1", "--seed", "9", "--watch"]);
    expect(cross.stderr).toBe("");
    expect(cross.code).toBe(0);
    expect(cross.stdout).toContain("5 removed as seen by the model (3 training, 2 validation), sampled to other 50% / covid19 50% (seed 9)");
    expect(cross.stdout).toMatch(/evaluation [0-9a-f-]{36}: succeeded/);
    expect(cross.stdout).toMatch(/small_cnn ct\/binary .*\d\.\d{3} \(95% CI \d\.\d{3}–\d\.\d{3}\)/);
    const binarised = await cli(["evaluate", model.finalId, "--binarise", "--watch"]);
    expect(binarised.code).toBe(0);
    expect(binarised.stdout).toContain("(binary model)");
    expect(binarised.stdout).toContain("multiclass read as COVID-19 vs rest");
    const list = await cli(["evaluations", "--trial", model.finalId]);
    expect(list.stdout.trim().split("\n").length).toBeGreaterThanOrEqual(4);
    expect(list.stdout).toContain("binarised");
    const refused = await cli(["evaluate", model.searchId, "--dataset", "second"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/- trial: trial .* is a search trial/);
    const badBalance = await cli(["evaluate", model.finalId, "--dataset", "second", "--balance", "covid19"]);
    expect(badBalance.code).not.toBe(0);
    expect(badBalance.stderr).toMatch(/class=weight pairs/);
  }, 120_000);

  it("a worker killed mid-evaluation: another worker finishes it, with one result and one set of predictions", async () => {
    await s.stopWorkers();
    const child = s.spawnWorker({ FAKE_EVAL_MS: "6000" });
    const res = await s.http("POST", "/v1/evaluations", { trial: model.finalId, dataset: "second", classBalance: { covid19: 1, other: 2 }, seed: 1 });
    expect(res.status).toBe(201);
    const id = res.body.id;
    // A worker process starts in seconds, or in a minute on a loaded machine.
    await eventually(async () => (await s.http("GET", `/v1/evaluations/${id}`)).body.status === "running", 120_000, 50);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    await s.startWorker();
    const done = await evaluationDone(s, id);
    expect(done.status).toBe("succeeded");
    const attempts = await s.db.attempt.findMany({ where: { trialId: id }, orderBy: { number: "asc" } });
    // The killed worker's attempt is lost; exactly one attempt (the last) wrote the result. (Under heavy load a
    // lease may lapse once more before it, which loses that attempt too and changes nothing else.)
    expect(attempts[0]!.status).toBe("lost");
    expect(attempts.filter((a) => a.status === "succeeded").map((a) => a.number)).toEqual([attempts.at(-1)!.number]);
    expect(attempts.slice(1, -1).every((a) => a.status === "lost")).toBe(true);
    const p = (await s.http("GET", `/v1/evaluations/${id}/predictions`)).body;
    expect(p.images).toHaveLength(done.result.n);
    const again = scoreTest(toSplitScores(p), { task: "binary", classes: p.classes, positiveClass: "covid19" }, done.result.intervals.auc.seed);
    expect(done.result.metrics).toEqual(again.metrics);
  }, 240_000);

  it("evaluations do not count among their sweep's trials nor change its progress", async () => {
    const trial = (await s.http("GET", `/v1/trials/${model.finalId}`)).body;
    const sweep = (await s.http("GET", `/v1/sweeps/${trial.sweepId}`)).body;
    expect(sweep.status).toBe("succeeded");
    expect(sweep.counts.succeeded).toBe(sweep.trialCount);
    expect(sweep.progress.fraction).toBe(1);
    const trials = (await s.http("GET", `/v1/sweeps/${trial.sweepId}/trials`)).body.trials as Array<{ stage: string }>;
    expect(trials.map((t) => t.stage).sort()).toEqual(["final", "search"]);
    expect(await s.db.trial.count({ where: { sweepId: trial.sweepId, stage: "evaluate" } })).toBeGreaterThan(3);
  });

  it("Postgres is the truth: an evaluation whose job Redis lost is enqueued again by the reconciler", async () => {
    await s.stopWorkers();
    const res = await s.http("POST", "/v1/evaluations", { trial: model.finalId, dataset: "second", classBalance: "equal", seed: 77 });
    expect(res.status).toBe(201);
    await s.queue.drain(true);
    expect(await s.queue.getJob(res.body.id)).toBeUndefined();
    await s.startWorker();
    const done = await evaluationDone(s, res.body.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(1);
  }, 120_000);
});
