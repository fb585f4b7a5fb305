/**
 * GET /v1/sweeps/:id/trials and /epochs are JSON texts built by Postgres and sent as they are. Over real HTTP and
 * Postgres: the trials answer is exactly what the row-by-row read (listTrials, which the report uses) serialises
 * to, for trials in every state (results with metrics, errors with quotes and newlines, a NaN, timestamps, final
 * trainings; evaluations left out); both answers match the schemas the OpenAPI document publishes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listTrials } from "@hypersweep/db";
import { SweepEpochs, TrialList } from "../apps/api/src/routes/trial-list.schema.ts";
import { startStack, sweepBody, type Stack } from "./helpers/stack.ts";

describe("the sweep's trials and epochs as Postgres-built JSON", () => {
  let s: Stack;
  let sweepId: string;
  let ids: string[];
  beforeAll(async () => {
    s = await startStack("trialsjson");
    const res = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { name: "json" }));
    expect(res.status).toBe(201);
    sweepId = res.body.id;
    ids = (res.body.trials as Array<{ id: string; position: number }>).sort((a, b) => a.position - b.position).map((t) => t.id);
    // 0: succeeded with metrics; 1: failed with an awkward error; 2: running, a NaN loss; 3: succeeded, a final training.
    const sql = (text: string, ...values: unknown[]) => s.db.pool.query(text, values);
    await sql(
      `UPDATE trials SET status = 'succeeded', attempt_count = 1, backend = 'wasm', best_epoch = 2, epochs_done = 3, stopped_early_at = 3, val_auc = 0.8125, val_f1 = $2,
              val_loss = 1e-7, selection_score = 0.8125, started_at = '2026-12-01 10:00:00.5', finished_at = '2026-12-01 10:01:02.123',
              metrics = '{"auc": 0.8125, "perClass": {"covid19": {"f1": 0.5}}, "confusion": [[1, 2], [3, 4]], "note": "é \\u2603"}'
       WHERE id = $1::uuid`, ids[0], 0.1 + 0.2);
    await sql(
      `UPDATE trials SET status = 'failed', attempt_count = 3, error = $2, error_reason = 'diverged', started_at = now(), finished_at = now() WHERE id = $1::uuid`,
      ids[1], `line "one"\n\tline \\two\\ — ✓`,
    );
    await sql(`UPDATE trials SET status = 'running', attempt_count = 1, epochs_done = 1, val_loss = 'NaN', val_auc = 'Infinity', started_at = now() WHERE id = $1::uuid`, ids[2]);
    await sql(`UPDATE trials SET status = 'succeeded', stage = 'final', selection_score = 1, finished_at = now() WHERE id = $1::uuid`, ids[3]);
    // An evaluation runs as a trial of stage evaluate: it is listed under /v1/evaluations, not here.
    await sql(
      `INSERT INTO trials (id, sweep_id, team_id, dataset_id, scenario_key, task, position, key, architecture, learning_rate, augmentations, stage, spec)
       SELECT gen_random_uuid(), sweep_id, team_id, dataset_id, scenario_key, task, 10000, 'evaluate', architecture, learning_rate, augmentations, 'evaluate', spec
       FROM trials WHERE id = $1::uuid`, ids[0]);
    // Written newest first: the answer orders them. Full float64 precision all the way.
    await sql(
      `INSERT INTO epochs (trial_id, attempt, epoch, train_loss, val_loss, val_auc, val_f1, lr, duration_ms, metrics)
       SELECT $1::uuid, 1, e, 1.0 / e, l, a, 0.5, 0.001, 10, '{}' FROM unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS x(l, a, e) ORDER BY e DESC`,
      ids[0], [0.1 + 0.2, 0.5, 0.7000000000000001], [2 / 3, null, 1e-300]);
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it("serves exactly what listTrials serialises to, in plan order, and nothing for evaluations", async () => {
    const res = await fetch(`${s.url}/v1/sweeps/${sweepId}/trials`, { headers: { authorization: `Bearer ${s.team.apiKey}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const served = await res.json();
    const rows = JSON.parse(JSON.stringify({ trials: await listTrials(s.db, s.team.id, sweepId) }));
    expect(served).toEqual(rows);
    expect(served.trials.map((t: { id: string }) => t.id)).toEqual(ids);
    const [first, failed, running, final] = served.trials;
    expect(first.metrics).toEqual({ auc: 0.8125, perClass: { covid19: { f1: 0.5 } }, confusion: [[1, 2], [3, 4]], note: "é ☃" });
    expect([first.valF1, first.valLoss, first.startedAt, first.finishedAt]).toEqual([0.1 + 0.2, 1e-7, "2026-12-01T10:00:00.500Z", "2026-12-01T10:01:02.123Z"]);
    expect(first.stoppedEarlyAt).toBe(3);
    expect(failed.error).toBe(`line "one"\n\tline \\two\\ — ✓`);
    // No JSON form for NaN or Infinity: null, as JSON.stringify writes them.
    expect([running.valLoss, running.valAuc, running.finishedAt]).toEqual([null, null, null]);
    expect(final.stage).toBe("final");
    expect(TrialList.parse(served)).toEqual(served);
  });

  it("serves the epochs in the published shape, each trial's epochs in order", async () => {
    const { status, body } = await s.http("GET", `/v1/sweeps/${sweepId}/epochs`);
    expect(status).toBe(200);
    expect(SweepEpochs.parse(body)).toEqual(body);
    expect(body.trials).toEqual([{ id: ids[0], position: 0, epoch: [1, 2, 3], trainLoss: [1, 0.5, 1 / 3], valLoss: [0.1 + 0.2, 0.5, 0.7000000000000001], valAuc: [2 / 3, null, 1e-300], valF1: [0.5, 0.5, 0.5] }]);
  });

  it("publishes both answers' schemas in the OpenAPI document", async () => {
    const { body } = await s.http("GET", "/openapi.json", undefined, null);
    const trials = body.paths["/v1/sweeps/{id}/trials"].get.responses["200"].content["application/json"].schema;
    expect(trials.properties.trials.items.required).toEqual(expect.arrayContaining(["id", "status", "valAuc", "metrics", "createdAt"]));
    const epochs = body.paths["/v1/sweeps/{id}/epochs"].get.responses["200"].content["application/json"].schema;
    expect(Object.keys(epochs.properties.trials.items.properties)).toEqual(["id", "position", "epoch", "trainLoss", "valLoss", "valAuc", "valF1"]);
  });

  it("answers 404 for another team's sweep and for a malformed id, for both", async () => {
    const other = await s.newTeam("other");
    for (const path of ["trials", "epochs"]) {
      expect((await s.http("GET", `/v1/sweeps/${sweepId}/${path}`, undefined, other.apiKey)).status).toBe(404);
      expect((await s.http("GET", `/v1/sweeps/not-a-uuid/${path}`)).status).toBe(404);
    }
  });
});
