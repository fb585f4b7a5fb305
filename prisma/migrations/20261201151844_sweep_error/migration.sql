-- Why a sweep failed, in words a user can act on: the architectures whose final training failed for good (and
-- the trainer's error), or that no trial succeeded. Null for sweeps that succeeded or were cancelled.
-- AlterTable
ALTER TABLE "sweeps" ADD COLUMN     "error" TEXT;
