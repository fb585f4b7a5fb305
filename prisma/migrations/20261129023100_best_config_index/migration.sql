-- Best-config queries ("the best succeeded trial for team × dataset × scenario × architecture") read the top of
-- this partial index: only succeeded trials with a selection score are in it, ordered as selectBest orders them
-- (selection metric, then the other metric, then lower validation loss, then plan position).
CREATE INDEX "trials_best_config_idx" ON "trials" ("team_id", "dataset_id", "scenario_key", "architecture",
  "selection_score" DESC, "tiebreak_score" DESC NULLS LAST, "val_loss" ASC NULLS LAST, "position" ASC)
  WHERE "status" = 'succeeded' AND "selection_score" IS NOT NULL;

-- The reconciler looks for trials that are owed: queued, or running with an expired lease.
CREATE INDEX "trials_owed_idx" ON "trials" ("lease_expires_at") WHERE "status" IN ('queued', 'running');
