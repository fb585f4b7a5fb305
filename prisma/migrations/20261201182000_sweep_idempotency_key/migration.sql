-- A submission may carry an Idempotency-Key: the same key sent again by the same team (a client retrying after a
-- lost answer) is answered with the sweep it created, and never creates a second one. The key is the team's own:
-- unique per team; idempotency_hash is the sha256 of the request it was first sent with (a different request under
-- the same key is refused).
ALTER TABLE "sweeps" ADD COLUMN "idempotency_key" TEXT, ADD COLUMN "idempotency_hash" TEXT;
CREATE UNIQUE INDEX "sweeps_team_idempotency_key" ON "sweeps" ("team_id", "idempotency_key") WHERE "idempotency_key" IS NOT NULL;
