/**
 * Final training on request (paper, section 3.2), for sweeps created with `final: false` (and, idempotently, for
 * any other): once a sweep's search is over, the winning configuration of each architecture (core's
 * planFinalTrainings, by the sweep's selection metric) is trained again for up to `finalEpochs` with early
 * stopping (`patience`) and scored on the test set, with bootstrap intervals. Other sweeps do this by themselves.
 */
import { planFinalTrainings, type SweepSpec, type Task } from "@hypersweep/core";
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
  const plan = planFinalTrainings(spec, (search[0]?.task ?? spec.task) as Task, search, architectures ?? spec.architectures);
  const added = await addFinalTrials(deps.db, teamId, sweepId, plan.requests);
  let enqueued = true;
  try {
    await enqueueTrials(deps.queue, added.filter((a) => a.created).map((a) => ({ trialId: a.id, sweepId })));
  } catch {
    enqueued = false; // the reconciler enqueues them once Redis answers
  }
  return { trials: added.map((a, i) => ({ ...a, fromTrialId: plan.requests[i]!.fromTrialId })), skipped: plan.skipped, enqueued };
}
