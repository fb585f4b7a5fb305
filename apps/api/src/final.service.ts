/**
 * Final training (paper, section 3.2): once a sweep's search is over, the winning configuration of each
 * architecture (AUC decides for binary tasks, F1 for multiclass: core's selectBest) is trained again for up to
 * `finalEpochs` with early stopping (`patience`) and scored on the test set, with bootstrap intervals.
 */
import { selectBest, type SweepSpec, type Task } from "@hypersweep/core";
import { addFinalTrials, ConflictError, getSweep, searchTrials, type Db } from "@hypersweep/db";
import { enqueueTrials, type TrialQueue } from "@hypersweep/queue";

export interface FinalResult {
  trials: Array<{ id: string; architecture: string; created: boolean; fromTrialId: string }>;
  skipped: Array<{ architecture: string; reason: string }>;
  enqueued: boolean;
}

export async function startFinalTraining(deps: { db: Db; queue: TrialQueue }, teamId: string, sweepId: string, architectures?: string[]): Promise<FinalResult> {
  const sweep = await getSweep(deps.db, teamId, sweepId);
  const search = await searchTrials(deps.db, sweepId);
  const owed = search.filter((t) => t.status === "queued" || t.status === "running").length;
  if (owed) throw new ConflictError(`the search of sweep ${sweepId} is still running (${owed} trial(s) not finished): final training starts from its winners`);
  const spec = sweep.spec as SweepSpec;
  const wanted = architectures ?? spec.architectures;
  const skipped: FinalResult["skipped"] = [];
  const requests: Array<{ fromTrialId: string; architecture: string; spec: Record<string, unknown> }> = [];
  for (const architecture of wanted) {
    const pick = selectBest(search.filter((t) => t.architecture === architecture), (search[0]?.task ?? spec.task) as Task, { metric: spec.selectionMetric });
    if (!pick.winner) {
      skipped.push({ architecture, reason: pick.reason ?? "no winner" });
      continue;
    }
    const planned = pick.winner.spec as Record<string, unknown>;
    requests.push({
      fromTrialId: pick.winner.id,
      architecture,
      spec: { ...planned, stage: "final", epochs: spec.finalEpochs, earlyStopping: { patience: spec.patience, minDelta: spec.minDelta }, evaluateTest: true },
    });
  }
  const added = await addFinalTrials(deps.db, teamId, sweepId, requests);
  let enqueued = true;
  try {
    await enqueueTrials(deps.queue, added.filter((a) => a.created).map((a) => ({ trialId: a.id, sweepId })));
  } catch {
    enqueued = false; // the reconciler enqueues them once Redis answers
  }
  return { trials: added.map((a, i) => ({ ...a, fromTrialId: requests[i].fromTrialId })), skipped, enqueued };
}
