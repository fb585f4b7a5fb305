/** What planning reads: the dataset version a sweep is planned on, and a search's trials for choosing winners. */
import type { Db } from "./client.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One of the team's datasets by id or name, and its version `versionId` (default: the newest) with its manifest.
 * `dataset` is null when the team has no such dataset; `version` is null when it has no such version.
 */
export async function findPlanningVersion(db: Db, teamId: string, dataset: string, versionId?: string) {
  const ds = await db.dataset.findFirst({
    where: { teamId, ...(UUID.test(dataset) ? { id: dataset } : { name: dataset }) },
    select: { id: true, name: true },
  });
  if (!ds) return { dataset: null, version: null };
  const version = await db.datasetVersion.findFirst({
    where: { datasetId: ds.id, ...(versionId ? { id: versionId } : {}) },
    orderBy: { createdAt: "desc" },
    select: { id: true, manifest: true, contentHash: true },
  });
  return { dataset: ds, version };
}

/** The search-stage trials of a sweep with what selection needs (the caller has checked the sweep's team). */
export async function searchTrials(db: Db, sweepId: string) {
  return db.trial.findMany({
    where: { sweepId, stage: "search" },
    select: { id: true, position: true, status: true, valAuc: true, valF1: true, valLoss: true, metrics: true, architecture: true, spec: true, task: true },
  });
}
