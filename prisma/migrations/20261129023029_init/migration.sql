-- CreateEnum
CREATE TYPE "sweep_status" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "trial_status" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "trial_stage" AS ENUM ('search', 'final');

-- CreateEnum
CREATE TYPE "attempt_status" AS ENUM ('running', 'succeeded', 'failed', 'lost', 'cancelled');

-- CreateTable
CREATE TABLE "teams" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "teams_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "name" TEXT NOT NULL DEFAULT 'default',
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "datasets" (
    "id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "datasets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset_versions" (
    "id" UUID NOT NULL,
    "dataset_id" UUID NOT NULL,
    "content_hash" TEXT NOT NULL,
    "storage_path" TEXT NOT NULL,
    "image_count" INTEGER NOT NULL,
    "summary" JSONB NOT NULL,
    "manifest" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dataset_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sweeps" (
    "id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "dataset_id" UUID NOT NULL,
    "dataset_version_id" UUID NOT NULL,
    "name" TEXT,
    "scenario_key" TEXT NOT NULL,
    "scenario" JSONB NOT NULL,
    "preset" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "plan_hash" TEXT NOT NULL,
    "status" "sweep_status" NOT NULL DEFAULT 'queued',
    "trial_count" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "cancelled_at" TIMESTAMP(3),

    CONSTRAINT "sweeps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "trials" (
    "id" UUID NOT NULL,
    "sweep_id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "dataset_id" UUID NOT NULL,
    "scenario_key" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "architecture" TEXT NOT NULL,
    "learning_rate" DOUBLE PRECISION NOT NULL,
    "augmentations" TEXT[],
    "stage" "trial_stage" NOT NULL DEFAULT 'search',
    "spec" JSONB NOT NULL,
    "status" "trial_status" NOT NULL DEFAULT 'queued',
    "attempt_count" INTEGER NOT NULL DEFAULT 0,
    "current_attempt" INTEGER,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMP(3),
    "backend" TEXT,
    "best_epoch" INTEGER,
    "epochs_done" INTEGER NOT NULL DEFAULT 0,
    "val_auc" DOUBLE PRECISION,
    "val_f1" DOUBLE PRECISION,
    "val_loss" DOUBLE PRECISION,
    "selection_score" DOUBLE PRECISION,
    "tiebreak_score" DOUBLE PRECISION,
    "metrics" JSONB,
    "weights_path" TEXT,
    "error" TEXT,
    "error_reason" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "trials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "attempts" (
    "id" UUID NOT NULL,
    "trial_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "worker_id" TEXT NOT NULL,
    "backend" TEXT,
    "status" "attempt_status" NOT NULL DEFAULT 'running',
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),
    "resumed_from" INTEGER,
    "error" TEXT,
    "error_reason" TEXT,

    CONSTRAINT "attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "epochs" (
    "id" BIGSERIAL NOT NULL,
    "trial_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "train_loss" DOUBLE PRECISION NOT NULL,
    "val_loss" DOUBLE PRECISION NOT NULL,
    "val_auc" DOUBLE PRECISION,
    "val_f1" DOUBLE PRECISION,
    "lr" DOUBLE PRECISION NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "metrics" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "epochs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workers" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "gpus" TEXT[],
    "backend" TEXT,
    "version" TEXT NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "teams_name_key" ON "teams"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys"("hash");

-- CreateIndex
CREATE INDEX "api_keys_team_id_idx" ON "api_keys"("team_id");

-- CreateIndex
CREATE UNIQUE INDEX "datasets_team_id_name_key" ON "datasets"("team_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "dataset_versions_dataset_id_content_hash_key" ON "dataset_versions"("dataset_id", "content_hash");

-- CreateIndex
CREATE INDEX "sweeps_team_id_created_at_idx" ON "sweeps"("team_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "sweeps_status_idx" ON "sweeps"("status");

-- CreateIndex
CREATE INDEX "trials_sweep_id_status_idx" ON "trials"("sweep_id", "status");

-- CreateIndex
CREATE INDEX "trials_status_lease_expires_at_idx" ON "trials"("status", "lease_expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "trials_sweep_id_position_key" ON "trials"("sweep_id", "position");

-- CreateIndex
CREATE UNIQUE INDEX "attempts_trial_id_number_key" ON "attempts"("trial_id", "number");

-- CreateIndex
CREATE UNIQUE INDEX "epochs_trial_id_epoch_key" ON "epochs"("trial_id", "epoch");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sweeps" ADD CONSTRAINT "sweeps_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "trials" ADD CONSTRAINT "trials_sweep_id_fkey" FOREIGN KEY ("sweep_id") REFERENCES "sweeps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "attempts" ADD CONSTRAINT "attempts_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "epochs" ADD CONSTRAINT "epochs_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
