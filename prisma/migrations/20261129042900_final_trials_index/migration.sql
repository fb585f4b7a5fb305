-- Best-config answers carry the final training of the winning configuration, looked up by sweep and
-- configuration. Final trials are few: a small partial index finds them without reading a sweep's search trials.
CREATE INDEX "trials_final_idx" ON "trials" ("sweep_id", "architecture", "learning_rate") WHERE "stage" = 'final';
