-- Fair share between teams, quotas, sweep priority, and the trainer a trial needs.
-- Workers claim the next trial in Postgres (lease.repository.ts, claimNextTrial): among teams under their running
-- quota, the team with the fewest running trials per unit of weight; within it, the highest priority, then the
-- oldest submission, then plan position.

ALTER TABLE "teams" ADD COLUMN "weight" DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK ("weight" > 0 AND "weight" <= 1000),
                    ADD COLUMN "max_running" INTEGER CHECK ("max_running" >= 0),
                    ADD COLUMN "max_waiting" INTEGER CHECK ("max_waiting" >= 0);

ALTER TABLE "sweeps" ADD COLUMN "priority" INTEGER NOT NULL DEFAULT 0;

-- trainer: which trainer runs the trial (a worker claims only trials of the trainers it runs).
-- priority, submitted_at: the trial's place in its team's order, copied from its sweep when the row is inserted
-- (submitted_at is the sweep's submission for search and final trainings, the evaluation's own for an evaluation),
-- so that a team's next trial is the first entry of one index.
-- quota_slot: which of its team's running-quota slots a running trial holds (1..max_running; NULL when the team
-- had no running quota when it started). Unique per team among running trials: two workers that count the same
-- free slot at the same instant cannot both start a trial in it.
ALTER TABLE "trials" ADD COLUMN "trainer" TEXT NOT NULL DEFAULT 'tfjs',
                     ADD COLUMN "priority" INTEGER NOT NULL DEFAULT 0,
                     ADD COLUMN "submitted_at" TIMESTAMP(3),
                     ADD COLUMN "quota_slot" INTEGER;

UPDATE "trials" t SET "submitted_at" = CASE WHEN t."stage" = 'evaluate' THEN t."created_at" ELSE s."created_at" END
FROM "sweeps" s WHERE s."id" = t."sweep_id";
ALTER TABLE "trials" ALTER COLUMN "submitted_at" SET DEFAULT CURRENT_TIMESTAMP, ALTER COLUMN "submitted_at" SET NOT NULL;

CREATE FUNCTION "trials_fair_order"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT s."priority", CASE WHEN NEW."stage" = 'evaluate' THEN now() ELSE s."created_at" END
    INTO NEW."priority", NEW."submitted_at"
  FROM "sweeps" s WHERE s."id" = NEW."sweep_id";
  RETURN NEW;
END $$;
CREATE TRIGGER "trials_fair_order" BEFORE INSERT ON "trials" FOR EACH ROW EXECUTE FUNCTION "trials_fair_order"();

-- A team's waiting trials in the order it runs them: its head is the first entry.
CREATE INDEX "trials_waiting_idx" ON "trials" ("team_id", "priority" DESC, "submitted_at", "position") WHERE "status" = 'queued';
-- Running trials per team (counts for fair share and quotas; expired leases), and the quota slots they hold.
CREATE UNIQUE INDEX "trials_running_slot_idx" ON "trials" ("team_id", "quota_slot") WHERE "status" = 'running';
