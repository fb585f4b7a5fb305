-- Evaluations (paper, section 4): a final model scored on another test set. Each evaluation runs as a row of
-- `trials` with stage 'evaluate' (same id), so the lease, attempts, retries and reconciler are the trials'.
ALTER TYPE "trial_stage" ADD VALUE IF NOT EXISTS 'evaluate';

CREATE TABLE "evaluations" (
    "id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "trial_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "dataset_version_id" UUID NOT NULL,
    "scenario" JSONB NOT NULL,
    "selection" JSONB NOT NULL,
    "images" TEXT[] NOT NULL,
    "labels" INTEGER[] NOT NULL,
    "compare_trial_id" UUID,
    "result" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "evaluations_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "evaluations_team_id_trial_id_idx" ON "evaluations"("team_id", "trial_id");

ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_id_fkey" FOREIGN KEY ("id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
