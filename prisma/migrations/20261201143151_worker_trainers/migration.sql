-- The trainers a worker runs (it takes only trials of those trainers), and the backend each of them reported.
ALTER TABLE "workers"
  ADD COLUMN "trainers" TEXT[] NOT NULL DEFAULT ARRAY['tfjs']::TEXT[],
  ADD COLUMN "backends" JSONB NOT NULL DEFAULT '{}'::JSONB;
