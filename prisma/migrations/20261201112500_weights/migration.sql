-- Pretrained weights a team imported (torchvision-named safetensors, one architecture each). The file lives
-- content-addressed under the data root; a team names it once per architecture.
CREATE TABLE "weights" (
    "id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "architecture" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "tensor_count" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "weights_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "weights_team_id_architecture_name_key" ON "weights"("team_id", "architecture", "name");
CREATE INDEX "weights_team_id_created_at_idx" ON "weights"("team_id", "created_at" DESC);

ALTER TABLE "weights" ADD CONSTRAINT "weights_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;
