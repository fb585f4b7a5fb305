/**
 * Pretrained weights: a team's names for content-addressed safetensors files, one architecture each.
 *
 * Guarantees:
 * - every function is scoped by teamId: another team's weights are indistinguishable from missing ones;
 * - (team, architecture, name) names one file: importing the same content under that name again returns the
 *   existing row (created: false, also when two imports race); other content under a taken name is a conflict;
 * - rows are never updated.
 */
import type { Db } from "./client.ts";
import { ConflictError, InvalidRequestError, NotFoundError } from "./errors.ts";

export interface WeightsInput {
  name: string;
  architecture: string;
  sha256: string;
  sizeBytes: number;
  tensorCount: number;
}

export interface WeightsInfo {
  id: string;
  name: string;
  architecture: string;
  sha256: string;
  sizeBytes: number;
  tensorCount: number;
  createdAt: Date;
}

const select = { id: true, name: true, architecture: true, sha256: true, sizeBytes: true, tensorCount: true, createdAt: true } as const;
type Row = { id: string; name: string; architecture: string; sha256: string; sizeBytes: bigint; tensorCount: number; createdAt: Date };
const info = (r: Row): WeightsInfo => ({ ...r, sizeBytes: Number(r.sizeBytes) });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Names follow the dataset rule: 1–128 characters of letters, digits, space, '.', '_' or '-'. */
export function checkWeightsName(name: string): void {
  if (!/^[\w.-][\w .-]{0,127}$/.test(name)) {
    throw new InvalidRequestError(`invalid weights name ${JSON.stringify(name)}`, [{ path: "name", message: "1–128 characters: letters, digits, space, '.', '_' or '-'" }]);
  }
}

/** Records the team's name for an imported file; returns the existing row when the same content was named so. */
export async function recordWeights(db: Db, teamId: string, input: WeightsInput): Promise<{ weights: WeightsInfo; created: boolean }> {
  checkWeightsName(input.name);
  const where = { teamId_architecture_name: { teamId, architecture: input.architecture, name: input.name } };
  const same = (found: Row) => {
    if (found.sha256 === input.sha256) return { weights: info(found), created: false };
    throw new ConflictError(`weights '${input.name}' for ${input.architecture} already exist with other content (sha256 ${found.sha256}): import under another name`);
  };
  const found = await db.weights.findUnique({ where, select });
  if (found) return same(found);
  try {
    const created = await db.weights.create({ data: { teamId, ...input, sizeBytes: BigInt(input.sizeBytes) }, select });
    return { weights: info(created), created: true };
  } catch (err) {
    if ((err as { code?: unknown })?.code !== "P2002") throw err;
    return same(await db.weights.findUniqueOrThrow({ where, select }));
  }
}

/** The team's weights, newest first (optionally of one architecture). */
export async function listWeights(db: Db, teamId: string, architecture?: string): Promise<WeightsInfo[]> {
  const rows = await db.weights.findMany({ where: { teamId, ...(architecture ? { architecture } : {}) }, orderBy: { createdAt: "desc" }, select });
  return rows.map(info);
}

/** One of the team's weights by id; NotFoundError otherwise. */
export async function getWeights(db: Db, teamId: string, id: string): Promise<WeightsInfo> {
  const row = UUID.test(id) ? await db.weights.findFirst({ where: { id, teamId }, select }) : null;
  if (!row) throw new NotFoundError("weights", id);
  return info(row);
}

/** Every architecture's weights of that name in the team (what a sweep's `overrides.pretrained` resolves). */
export async function findWeightsByName(db: Db, teamId: string, name: string): Promise<WeightsInfo[]> {
  const rows = await db.weights.findMany({ where: { teamId, name }, orderBy: { architecture: "asc" }, select });
  return rows.map(info);
}
