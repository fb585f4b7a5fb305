-- Which trainer runs a trial: its sweep's (sweeps.spec->>'trainer', absent for tfjs). A worker claims only trials
-- of the trainers it runs (the column and the claim's filter come with the fair-share migration; kept here as a
-- no-op so that this migration stands on its own).
ALTER TABLE "trials" ADD COLUMN IF NOT EXISTS "trainer" TEXT NOT NULL DEFAULT 'tfjs';

-- Every trial row of a sweep (search, final trainings, evaluations of its models) gets the sweep's trainer when
-- it is inserted, whichever statement inserts it.
CREATE FUNCTION "trials_sweep_trainer"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT COALESCE(s."spec"->>'trainer', 'tfjs') INTO NEW."trainer" FROM "sweeps" s WHERE s."id" = NEW."sweep_id";
  RETURN NEW;
END $$;
CREATE TRIGGER "trials_sweep_trainer" BEFORE INSERT ON "trials" FOR EACH ROW EXECUTE FUNCTION "trials_sweep_trainer"();
