-- Worker tokens authenticate worker nodes (not teams) to the API's /v1/worker routes. Only the sha256 of a token
-- is stored; the token itself is shown once, when an admin creates it. Revoked tokens are kept (revoked_at set)
-- so that the fleet's history says which node used which token until when.
CREATE TABLE "worker_tokens" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "worker_tokens_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "worker_tokens_name_check" CHECK (length("name") BETWEEN 1 AND 100)
);

CREATE UNIQUE INDEX "worker_tokens_token_hash_key" ON "worker_tokens"("token_hash");
