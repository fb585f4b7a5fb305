/**
 * Results recorded without a trainer: claims the next trials a worker of `trainer` would get and records the given
 * validation AUCs (in claim order), through the same statements a worker runs. For tests of what is read back.
 */
import { claimNextTrial, recordResult, type Db } from "@hypersweep/db";

export async function recordAucs(db: Db, trainer: string, aucs: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const auc of aucs) {
    const c = await claimNextTrial(db, `w-${trainer}`, { leaseMs: 60_000, maxAttempts: 2, trainers: [trainer] });
    if (c.kind !== "claimed") throw new Error(`no ${trainer} trial to claim`);
    await recordResult(db, c.trial.trialId, c.trial.attempt, { bestEpoch: 1, metrics: { auc, f1: 0.5 }, valAuc: auc, valF1: 0.5, valLoss: 0.4, selectionScore: auc, tiebreakScore: 0.5 });
    ids.push(c.trial.trialId);
  }
  return ids;
}
