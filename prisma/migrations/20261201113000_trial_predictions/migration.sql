-- A final model's per-image probabilities on its validation and test splits, one row per (trial, split): what
-- every metric shown for it is recomputed from. Compact: image hashes as 32-byte sha256 digests concatenated,
-- labels as smallint[], probabilities as one real[] of n × classes values (row-major).
CREATE TABLE "trial_predictions" (
    "trial_id" UUID NOT NULL,
    "split" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "classes" INTEGER NOT NULL,
    "images" BYTEA NOT NULL,
    "labels" SMALLINT[] NOT NULL,
    "probs" REAL[] NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trial_predictions_pkey" PRIMARY KEY ("trial_id", "split"),
    CONSTRAINT "trial_predictions_split_check" CHECK ("split" IN ('val', 'test')),
    CONSTRAINT "trial_predictions_shape_check" CHECK (
      octet_length("images") = 32 * cardinality("labels") AND cardinality("probs") = "classes" * cardinality("labels"))
);

ALTER TABLE "trial_predictions" ADD CONSTRAINT "trial_predictions_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
