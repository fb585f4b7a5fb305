-- Early stopping of search trials (ASHA): each rung decision, written once with its rung epoch, and the rung a
-- stopped trial stopped at.
-- AlterTable
ALTER TABLE "trials" ADD COLUMN     "stopped_early_at" INTEGER;

-- CreateTable
CREATE TABLE "rung_decisions" (
    "trial_id" UUID NOT NULL,
    "rung" INTEGER NOT NULL,
    "sweep_id" UUID NOT NULL,
    "architecture" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "best_epoch" INTEGER NOT NULL,
    "selection_score" DOUBLE PRECISION,
    "tiebreak_score" DOUBLE PRECISION,
    "val_loss" DOUBLE PRECISION,
    "rank" INTEGER NOT NULL,
    "reached" INTEGER NOT NULL,
    "kept" INTEGER NOT NULL,
    "continues" BOOLEAN NOT NULL,
    "decided_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rung_decisions_pkey" PRIMARY KEY ("trial_id","rung")
);

-- CreateIndex
CREATE INDEX "rung_decisions_sweep_id_architecture_rung_idx" ON "rung_decisions"("sweep_id", "architecture", "rung");

-- AddForeignKey
ALTER TABLE "rung_decisions" ADD CONSTRAINT "rung_decisions_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;

