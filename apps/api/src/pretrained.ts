/**
 * A sweep's `overrides.pretrained` ({ architecture: name }) resolved to the team's imported weights, before the
 * spec is merged: an unknown name, or weights of that name imported for another architecture only, is a 400
 * naming `overrides.pretrained.<architecture>`. Architectures the sweep does not train are left to core's check.
 */
import type { Architecture, PretrainedRef } from "@hypersweep/core";
import { findWeightsByName, listWeights, type Db } from "@hypersweep/db";
import { badRequest } from "./errors.ts";

export async function resolvePretrained(db: Db, teamId: string, names: Partial<Record<Architecture, string>> | undefined, architectures: readonly string[]): Promise<Partial<Record<Architecture, PretrainedRef>> | undefined> {
  const entries = Object.entries(names ?? {}) as Array<[Architecture, string]>;
  if (!entries.length) return undefined;
  const out: Partial<Record<Architecture, PretrainedRef>> = {};
  for (const [arch, name] of entries) {
    if (!architectures.includes(arch)) continue;
    const path = `overrides.pretrained.${arch}`;
    const rows = await findWeightsByName(db, teamId, name);
    const match = rows.find((w) => w.architecture === arch);
    if (match) {
      out[arch] = { name: match.name, sha256: match.sha256 };
      continue;
    }
    if (rows.length) {
      const message = `weights '${name}' are for ${rows.map((w) => w.architecture).join(", ")}, not ${arch}: import ${arch} weights under that name (hypersweep weights import <file> --arch ${arch} --name ${name})`;
      throw badRequest(message, [{ path, message }]);
    }
    const known = (await listWeights(db, teamId, arch)).map((w) => w.name);
    const message = `unknown weights '${name}' for ${arch} (${known.length ? `yours: ${known.join(", ")}` : "none imported yet: POST /v1/weights"})`;
    throw badRequest(message, [{ path, message }]);
  }
  return out;
}
