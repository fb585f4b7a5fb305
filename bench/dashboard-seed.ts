/**
 * The sweep the dashboard benchmarks read: 4 architectures × 8 learning rates × 32 augmentation subsets = 1,024
 * trials, all but the last RUNNING succeeded with EPOCHS epochs each, the others running at epoch 10.
 */
import type { Db } from "@hypersweep/db";
import { createTeam } from "@hypersweep/db";

export const ARCHS = ["resnet18", "resnet50", "densenet121", "small_cnn"];
export const RATES = [1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 1e-6];
export const AUGS = ["rotation", "brightness", "hflip", "center_crop", "contrast"];
export const EPOCHS = 30;
export const RUNNING = 20;

export interface SeededSweep {
  teamId: string;
  apiKey: string;
  sweepId: string;
  trialCount: number;
  /** The running trials' ids (they receive the streamed epochs). */
  running: string[];
  epochRows: number;
}

export async function seedSweep(db: Db): Promise<SeededSweep> {
  const { team, apiKey } = await createTeam(db, "bench-dashboard");
  const ds = await db.dataset.create({ data: { teamId: team.id, name: "stock" } });
  const v = await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "bench", storagePath: "/x", imageCount: 0, summary: {}, manifest: [] } });
  const spec = { architectures: ARCHS, learningRates: RATES, augmentations: AUGS, searchEpochs: EPOCHS, finalEpochs: 100, selectionMetric: "auc", task: "binary", subsetsPerRate: 32, allSubsets: true };
  const subsets = Array.from({ length: 32 }, (_, m) => AUGS.filter((_a, i) => m & (1 << i)));
  const trials = ARCHS.flatMap((a) => RATES.flatMap((lr) => subsets.map((s) => ({ a, lr, s }))));
  const sweep = await db.sweep.create({ data: { teamId: team.id, datasetId: ds.id, datasetVersionId: v.id, scenarioKey: "ct/binary", scenario: {}, preset: "data-stock-2020", spec, seed: 1, planHash: "bench", trialCount: trials.length, status: "running", startedAt: new Date() } });
  await db.$executeRawUnsafe(
    `INSERT INTO trials (id, sweep_id, team_id, dataset_id, scenario_key, task, position, key, architecture, learning_rate, augmentations, spec,
                         status, selection_score, val_auc, val_f1, val_loss, epochs_done, best_epoch, attempt_count, backend, started_at, finished_at)
     SELECT gen_random_uuid(), $1::uuid, $2::uuid, $3::uuid, 'ct/binary', 'binary', x.i, 'k' || x.i, x.a, x.lr, x.s, jsonb_build_object('epochs', ${EPOCHS}),
            CASE WHEN x.i >= $5 THEN 'running'::trial_status ELSE 'succeeded'::trial_status END,
            CASE WHEN x.i >= $5 THEN NULL ELSE 0.5 + 0.45 * random() END, 0.5 + 0.45 * random(), random(), random(),
            CASE WHEN x.i >= $5 THEN 10 ELSE ${EPOCHS} END, 1 + (x.i % ${EPOCHS}), 1, 'wasm', now() - interval '1 hour', CASE WHEN x.i >= $5 THEN NULL ELSE now() END
     FROM jsonb_to_recordset($4::jsonb) AS x(i int, a text, lr float8, s text[])`,
    sweep.id, team.id, ds.id, JSON.stringify(trials.map((t, i) => ({ i, a: t.a, lr: t.lr, s: t.s }))), trials.length - RUNNING,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO epochs (trial_id, attempt, epoch, train_loss, val_loss, val_auc, val_f1, lr, duration_ms, metrics)
     SELECT t.id, 1, e, 1.0 / e + random() * 0.05, 1.1 / e + random() * 0.05, 1 - 0.5 / e, 0.9 - 0.4 / e, t.learning_rate, 1000, '{}'
     FROM trials t CROSS JOIN LATERAL generate_series(1, t.epochs_done) e WHERE t.sweep_id = $1::uuid`,
    sweep.id,
  );
  await db.$executeRawUnsafe(`ANALYZE trials`);
  await db.$executeRawUnsafe(`ANALYZE epochs`);
  const running = (await db.trial.findMany({ where: { sweepId: sweep.id, status: "running" }, select: { id: true } })).map((t) => t.id);
  return { teamId: team.id, apiKey, sweepId: sweep.id, trialCount: trials.length, running, epochRows: await db.epoch.count() };
}
