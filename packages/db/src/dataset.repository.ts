/**
 * Datasets and their immutable, content-addressed versions.
 *
 * Guarantees:
 * - every function is scoped by teamId: another team's dataset or version is indistinguishable from a missing
 *   one (NotFoundError, or absent from lists);
 * - recording the same content (contentHash) for a dataset twice returns the existing version (created: false),
 *   also when two imports race (the unique (dataset_id, content_hash) constraint decides);
 * - versions are never updated.
 */
import type { Db } from "./client.ts";
import { InvalidRequestError, NotFoundError } from "./errors.ts";
import type { Prisma } from "./generated/client.ts";

export interface DatasetVersionInput {
  contentHash: string;
  /** The version directory (images + manifest.json) under the data root. */
  storagePath: string;
  imageCount: number;
  /** Table-2-like summary (counts by modality, section, diagnosis, split; split proportions; excluded rows). */
  summary: unknown;
  /** The validated manifest rows with their final split. */
  manifest: unknown;
}

/** A version as the API shows it: where it lives on the server's disk (storagePath) is not part of it. */
export interface DatasetVersionInfo {
  id: string;
  datasetId: string;
  contentHash: string;
  imageCount: number;
  summary: unknown;
  createdAt: Date;
}

export interface DatasetInfo {
  id: string;
  name: string;
  createdAt: Date;
  versionCount: number;
  latestVersion: DatasetVersionInfo | null;
}

const versionSelect = { id: true, datasetId: true, contentHash: true, imageCount: true, summary: true, createdAt: true } as const;

const isUniqueViolation = (err: unknown) => (err as { code?: unknown })?.code === "P2002";

/** Refuses a dataset name that could not be stored (InvalidRequestError naming the field `name`). */
export function checkDatasetName(name: string): void {
  if (!/^[\w.-][\w .-]{0,127}$/.test(name)) {
    throw new InvalidRequestError(`invalid dataset name ${JSON.stringify(name)}`, [
      { path: "name", message: "1–128 characters: letters, digits, space, '.', '_' or '-'" },
    ]);
  }
}

/** Creates the dataset if the team has none of that name, then its version for this content (or finds it). */
export async function recordDatasetVersion(
  db: Db,
  teamId: string,
  name: string,
  input: DatasetVersionInput,
  /** publish: moves the version's files into place; run inside the transaction that inserts the row. */
  opts: { publish?: () => Promise<unknown> } = {},
): Promise<{ dataset: { id: string; name: string; createdAt: Date }; version: DatasetVersionInfo; created: boolean }> {
  checkDatasetName(name);
  const dataset = await upsertDataset(db, teamId, name);
  const existing = await db.datasetVersion.findUnique({ where: { datasetId_contentHash: { datasetId: dataset.id, contentHash: input.contentHash } }, select: versionSelect });
  if (existing) {
    await opts.publish?.();
    return { dataset, version: existing, created: false };
  }
  try {
    // The files move into place inside the transaction: a row never exists without its directory, and a crash
    // between the move and the commit leaves a directory without a row (removed at the next start).
    const version = await db.$transaction(async (tx) => {
      const created = await tx.datasetVersion.create({
        data: {
          datasetId: dataset.id,
          contentHash: input.contentHash,
          storagePath: input.storagePath,
          imageCount: input.imageCount,
          summary: input.summary as Prisma.InputJsonValue,
          manifest: input.manifest as Prisma.InputJsonValue,
        },
        select: versionSelect,
      });
      await opts.publish?.();
      return created;
    }, { maxWait: 10_000, timeout: 120_000 }); // a 50,000-row manifest is a large JSON value
    return { dataset, version, created: true };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const raced = await db.datasetVersion.findUniqueOrThrow({ where: { datasetId_contentHash: { datasetId: dataset.id, contentHash: input.contentHash } }, select: versionSelect });
    await opts.publish?.();
    return { dataset, version: raced, created: false };
  }
}

/** Which of these content hashes some dataset version (of any team) was recorded with. */
export async function referencedContentHashes(db: Db, hashes: readonly string[]): Promise<Set<string>> {
  const rows = await db.datasetVersion.findMany({ where: { contentHash: { in: [...hashes] } }, select: { contentHash: true }, distinct: ["contentHash"] });
  return new Set(rows.map((r) => r.contentHash));
}

async function upsertDataset(db: Db, teamId: string, name: string) {
  const select = { id: true, name: true, createdAt: true } as const;
  const where = { teamId_name: { teamId, name } };
  const found = await db.dataset.findUnique({ where, select });
  if (found) return found;
  try {
    return await db.dataset.create({ data: { teamId, name }, select });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return db.dataset.findUniqueOrThrow({ where, select });
  }
}

/** The team's datasets, newest first, each with its version count and latest version. */
export async function listDatasets(db: Db, teamId: string): Promise<DatasetInfo[]> {
  const rows = await db.dataset.findMany({
    where: { teamId },
    orderBy: { createdAt: "desc" },
    select: {
      id: true,
      name: true,
      createdAt: true,
      _count: { select: { versions: true } },
      versions: { orderBy: { createdAt: "desc" }, take: 1, select: versionSelect },
    },
  });
  return rows.map((d) => ({ id: d.id, name: d.name, createdAt: d.createdAt, versionCount: d._count.versions, latestVersion: d.versions[0] ?? null }));
}

/** One dataset of the team with all its versions (newest first); NotFoundError otherwise. */
export async function getDataset(db: Db, teamId: string, idOrName: string): Promise<Omit<DatasetInfo, "latestVersion"> & { versions: DatasetVersionInfo[] }> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
  const d = await db.dataset.findFirst({
    where: { teamId, ...(isUuid ? { id: idOrName } : { name: idOrName }) },
    select: { id: true, name: true, createdAt: true, versions: { orderBy: { createdAt: "desc" }, select: versionSelect } },
  });
  if (!d) throw new NotFoundError("dataset", idOrName);
  return { id: d.id, name: d.name, createdAt: d.createdAt, versionCount: d.versions.length, versions: d.versions };
}

/** One version of one of the team's datasets, with its manifest rows; NotFoundError otherwise. */
export async function getDatasetVersion(db: Db, teamId: string, versionId: string): Promise<DatasetVersionInfo & { manifest: unknown }> {
  const v = await db.datasetVersion.findFirst({
    where: { id: versionId, dataset: { teamId } },
    select: { ...versionSelect, manifest: true },
  });
  if (!v) throw new NotFoundError("dataset version", versionId);
  return v;
}
