-- A sweep trains at most one final model per architecture, however many workers, reconcilers and requests ask
-- for it at once (the final stage runs by itself when an architecture's search ends).
CREATE UNIQUE INDEX "trials_one_final_per_architecture" ON "trials" ("sweep_id", "architecture") WHERE "stage" = 'final';
