-- Workers whose attempts keep failing for reasons of the node are quarantined: they take no trial until an admin
-- releases them or the cool-down ends. The evidence (the attempts that decided it) is kept with the decision.
ALTER TABLE "workers"
  ADD COLUMN "quarantined_at" TIMESTAMP(3),
  ADD COLUMN "quarantined_until" TIMESTAMP(3),
  ADD COLUMN "quarantine_reason" TEXT,
  ADD COLUMN "quarantine_attempts" JSONB,
  ADD COLUMN "released_at" TIMESTAMP(3),
  ADD COLUMN "released_by" TEXT;

-- Attempts that failed on a node later quarantined do not count towards their trial's maximum attempts.
ALTER TABLE "trials" ADD COLUMN "excused_attempts" INTEGER NOT NULL DEFAULT 0;

-- A worker's most recent finished attempts (its failure streak); only finished attempts are indexed.
CREATE INDEX "attempts_worker_finished_idx" ON "attempts" ("worker_id", "finished_at" DESC) WHERE "status" IN ('succeeded', 'failed');
