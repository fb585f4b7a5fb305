-- Heartbeats and epoch writes change only lease_expires_at and epochs_done. With no index on either column, and
-- free room on each page (fillfactor 80), those updates are HOT: Postgres rewrites the row in place without
-- touching the trial's six indexes. The reconciler's scan of owed trials needs no lease index: the active set
-- (queued or running) is small and read in plan order through this partial index.
DROP INDEX IF EXISTS "trials_status_lease_expires_at_idx";
DROP INDEX IF EXISTS "trials_owed_idx";
CREATE INDEX "trials_owed_idx" ON "trials" ("created_at", "position") WHERE "status" IN ('queued', 'running');
ALTER TABLE "trials" SET (fillfactor = 80);
