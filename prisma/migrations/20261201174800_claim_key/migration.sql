-- claim_key: the key a worker sends with a claim (fresh per claim, the same on a retry). A claim whose answer was
-- lost (a timeout through the API, a connection dropped after the commit) is sent again with the same key and
-- answered with the attempt it opened, instead of opening a second attempt while the first holds the lease.
ALTER TABLE "attempts" ADD COLUMN "claim_key" TEXT;
CREATE UNIQUE INDEX "attempts_claim_key_key" ON "attempts" ("claim_key");
