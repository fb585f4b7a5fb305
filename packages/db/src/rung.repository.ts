/**
 * Early stopping of search trials (ASHA, core's early-stopping.ts), decided where the truth is. A rung epoch is
 * recorded in one transaction with its decision, under a lock per sweep and architecture, so that trials
 * reaching a rung at the same moment are ranked one after the other, each seeing the decisions committed before
 * it. The decision is stored (rung_decisions, keyed by trial and rung): a replayed rung epoch (a resumed attempt,
 * a redelivery) reads it back and never decides twice. A trial told to stop is finished in that same transaction:
 * its result is its best stored epoch by the epoch rule, marked stopped early, so a worker killed right after
 * the decision leaves nothing to redo and a resumed attempt finds the trial finished.
 */
import type pg from "pg";
import { decideAtRung, standingAtRung, type SuccessiveHalving, type EpochRecord, type RungDecision, type SelectionMetric, type StoredEpoch, type Task } from "@hypersweep/core";
import { inTransaction, type Db } from "./client.ts";
import { LeaseLostError } from "./errors.ts";
import { EVENTS_CHANNEL } from "./events.ts";
import { finishSweepIfDone } from "./lease.repository.ts";

export interface RungOutcome extends RungDecision {
  rung: number;
  /** The trial's best epoch up to the rung, and its selection score, as ranked. */
  bestEpoch: number;
  selectionScore: number | null;
  /** True when the decision was already stored (a replayed rung epoch). */
  replayed: boolean;
}

interface TrialRow {
  sweep_id: string;
  team_id: string;
  architecture: string;
  position: number;
  stage: string;
  task: string;
  sweep_spec: { earlyStopping?: SuccessiveHalving; selectionMetric: SelectionMetric; minDelta?: number };
}

interface DecisionRow {
  trial_id: string;
  position: number;
  best_epoch: number;
  selection_score: number | null;
  tiebreak_score: number | null;
  val_loss: number | null;
  rank: number;
  reached: number;
  kept: number;
  continues: boolean;
}

/** The statement that writes epochs from a JSON array (the same columns recordResult writes). */
const EPOCHS_FROM_JSON = `INSERT INTO epochs (trial_id, attempt, epoch, train_loss, val_loss, val_auc, val_f1, lr, duration_ms, metrics)
  SELECT $1, $2, e.epoch, e."trainLoss", e."valLoss", (e.metrics->>'auc')::float8, (e.metrics->>'f1')::float8, e.lr, round(e."durationMs")::int, e.metrics
  FROM jsonb_to_recordset($3::jsonb) AS e(epoch int, "trainLoss" float8, "valLoss" float8, lr float8, "durationMs" float8, metrics jsonb)`;

/**
 * Records a search trial's rung epoch with its early-stopping decision (only if `attempt` holds the lease; throws
 * LeaseLostError otherwise). `inHand` are the epochs this attempt has reported so far (replayed ones included):
 * written too when missing, so the standing never misses an epoch. Returns null when the epoch is no rung of the
 * trial's sweep (it is then recorded like any epoch). When the decision is to stop, the trial is finished.
 */
export async function recordRungEpoch(db: Db, trialId: string, attempt: number, e: EpochRecord, inHand: readonly EpochRecord[], leaseMs: number): Promise<RungOutcome | null> {
  return inTransaction(db, async (c) => {
    const { rows } = await c.query<TrialRow>(
      `SELECT t.sweep_id::text, t.team_id::text, t.architecture, t.position, t.stage::text, t.task, s.spec AS sweep_spec
       FROM trials t JOIN sweeps s ON s.id = t.sweep_id
       WHERE t.id = $1 AND t.current_attempt = $2 AND t.status = 'running' FOR UPDATE OF t`,
      [trialId, attempt],
    );
    const t = rows[0];
    if (!t) throw new LeaseLostError(trialId, attempt);
    const es = t.sweep_spec.earlyStopping;
    const isRung = t.stage === "search" && !!es && es.rungs.includes(e.epoch);
    // Trials of one sweep and architecture reach a rung one at a time.
    if (isRung) await c.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`rungs:${t.sweep_id}:${t.architecture}`]);
    await writeEpochs(c, trialId, attempt, e, inHand, t, leaseMs);
    if (!isRung) return null;

    const stored = await c.query<DecisionRow>(`SELECT * FROM rung_decisions WHERE trial_id = $1 AND rung = $2`, [trialId, e.epoch]);
    if (stored.rows[0]) {
      const d = stored.rows[0];
      const out = { rung: e.epoch, continues: d.continues, rank: d.rank, reached: d.reached, kept: d.kept, bestEpoch: d.best_epoch, selectionScore: d.selection_score, replayed: true };
      if (!d.continues) await stopTrial(c, trialId, attempt, e.epoch, t);
      return out;
    }

    const epochs = await c.query<{ epoch: number; val_loss: number; metrics: Record<string, unknown> }>(
      `SELECT epoch, val_loss, metrics FROM epochs WHERE trial_id = $1 AND epoch <= $2 ORDER BY epoch`,
      [trialId, e.epoch],
    );
    const self = standingAtRung(
      { trialId, position: t.position },
      epochs.rows.map((r): StoredEpoch => ({ epoch: r.epoch, valLoss: r.val_loss, metrics: r.metrics as StoredEpoch["metrics"] })),
      e.epoch,
      { metric: t.sweep_spec.selectionMetric, task: t.task as Task, minDelta: t.sweep_spec.minDelta ?? 0 },
    );
    const earlier = await c.query<DecisionRow>(
      `SELECT trial_id::text, position, best_epoch, selection_score, tiebreak_score, val_loss FROM rung_decisions
       WHERE sweep_id = $1 AND architecture = $2 AND rung = $3`,
      [t.sweep_id, t.architecture, e.epoch],
    );
    const d = decideAtRung(
      self,
      earlier.rows.map((r) => ({ trialId: r.trial_id, position: r.position, bestEpoch: r.best_epoch, selectionScore: r.selection_score, tiebreakScore: r.tiebreak_score, valLoss: r.val_loss })),
      es.eta,
    );
    await c.query(
      `INSERT INTO rung_decisions (trial_id, rung, sweep_id, architecture, position, attempt, best_epoch, selection_score, tiebreak_score, val_loss, rank, reached, kept, continues)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [trialId, e.epoch, t.sweep_id, t.architecture, t.position, attempt, self.bestEpoch, self.selectionScore, self.tiebreakScore, self.valLoss, d.rank, d.reached, d.kept, d.continues],
    );
    if (!d.continues) await stopTrial(c, trialId, attempt, e.epoch, t, self);
    return { rung: e.epoch, ...d, bestEpoch: self.bestEpoch, selectionScore: self.selectionScore, replayed: false };
  });
}

async function writeEpochs(c: pg.PoolClient, trialId: string, attempt: number, e: EpochRecord, inHand: readonly EpochRecord[], t: TrialRow, leaseMs: number): Promise<void> {
  await c.query(
    `UPDATE trials SET epochs_done = GREATEST(epochs_done, $2::int), lease_expires_at = now() + $3::int * interval '1 millisecond' WHERE id = $1`,
    [trialId, e.epoch, leaseMs],
  );
  await c.query(
    `${EPOCHS_FROM_JSON}
     ON CONFLICT (trial_id, epoch) DO UPDATE SET attempt = EXCLUDED.attempt, train_loss = EXCLUDED.train_loss, val_loss = EXCLUDED.val_loss,
       val_auc = EXCLUDED.val_auc, val_f1 = EXCLUDED.val_f1, lr = EXCLUDED.lr, duration_ms = EXCLUDED.duration_ms, metrics = EXCLUDED.metrics, created_at = now()`,
    [trialId, attempt, JSON.stringify([e])],
  );
  const before = inHand.filter((x) => x.epoch < e.epoch);
  if (before.length) await c.query(`${EPOCHS_FROM_JSON} ON CONFLICT (trial_id, epoch) DO NOTHING`, [trialId, attempt, JSON.stringify(before)]);
  await c.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [
    JSON.stringify({ type: "epoch.done", teamId: t.team_id, sweepId: t.sweep_id, trialId, epoch: e.epoch, valLoss: e.valLoss, valAuc: e.metrics.auc ?? null, valF1: e.metrics.f1 ?? null }),
  ]);
}

/**
 * Ends a trial stopped at `rung` as a succeeded search trial whose result is its best stored epoch (the standing
 * it was ranked by; recomputed from the stored decision for a replay), with the attempt's end and the event.
 */
async function stopTrial(c: pg.PoolClient, trialId: string, attempt: number, rung: number, t: TrialRow, standing?: ReturnType<typeof standingAtRung>): Promise<void> {
  let s = standing;
  if (!s) {
    const epochs = await c.query<{ epoch: number; val_loss: number; metrics: Record<string, unknown> }>(`SELECT epoch, val_loss, metrics FROM epochs WHERE trial_id = $1 AND epoch <= $2`, [trialId, rung]);
    s = standingAtRung({ trialId, position: t.position }, epochs.rows.map((r) => ({ epoch: r.epoch, valLoss: r.val_loss, metrics: r.metrics as StoredEpoch["metrics"] })), rung, {
      metric: t.sweep_spec.selectionMetric, task: t.task as Task, minDelta: t.sweep_spec.minDelta ?? 0,
    });
  }
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  await c.query(
    `UPDATE trials SET status = 'succeeded', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, best_epoch = $3,
       val_auc = $4, val_f1 = $5, val_loss = $6, selection_score = $7, tiebreak_score = $8, metrics = $9::jsonb, weights_path = NULL,
       error = NULL, error_reason = NULL, stopped_early_at = $10
     WHERE id = $1 AND current_attempt = $2`,
    [trialId, attempt, s.bestEpoch, num(s.metrics.auc), num(s.metrics.f1), s.valLoss, s.selectionScore, s.tiebreakScore, JSON.stringify(s.metrics), rung],
  );
  await c.query(`UPDATE attempts SET status = 'succeeded', finished_at = now() WHERE trial_id = $1 AND number = $2`, [trialId, attempt]);
  await c.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [
    JSON.stringify({ type: "trial.finished", teamId: t.team_id, sweepId: t.sweep_id, trialId, status: "succeeded", selectionScore: s.selectionScore, stage: "search", stoppedEarlyAt: rung }),
  ]);
  await finishSweepIfDone(c, t.sweep_id, t.team_id);
}
