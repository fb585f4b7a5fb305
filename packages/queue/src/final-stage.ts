/**
 * The final stage runs by itself: when the last search trial of an architecture ends, the worker that recorded
 * it queues the winner's final training; if that worker dies first (or Redis loses the job), the reconciler
 * does it on its next pass. Both paths go through addFinalTrials, which keeps one final training per
 * architecture whoever asks, however often.
 */
import { finalStageEnabled, planFinalTrainings, type SweepSpec, type Task } from "@hypersweep/core";
import { addFinalTrials, searchTrials, sweepForFinal, sweepOwesFinal, type Db } from "@hypersweep/db";
import { enqueueTrials, type TrialQueue } from "./index.ts";

/** Queues the final trainings the sweep owes (none when it owes none); returns the ids of those it created. */
export async function ensureFinalStage(db: Db, queue: TrialQueue, sweepId: string, log: (msg: string) => void = () => {}): Promise<string[]> {
  if (!(await sweepOwesFinal(db, sweepId))) return [];
  const sweep = await sweepForFinal(db, sweepId);
  if (!sweep || !finalStageEnabled(sweep.spec)) return [];
  const plan = planFinalTrainings(sweep.spec as unknown as SweepSpec, sweep.task as Task, await searchTrials(db, sweepId));
  if (plan.requests.length === 0) return [];
  const created = (await addFinalTrials(db, sweep.teamId, sweepId, plan.requests)).filter((t) => t.created);
  try {
    await enqueueTrials(queue, created.map((t) => ({ trialId: t.id, sweepId })));
  } catch (err) {
    // Postgres holds them as queued: the reconciler enqueues them once Redis answers.
    log(`final trainings of sweep ${sweepId} stored but not enqueued: ${(err as Error).message}`);
  }
  for (const t of created) log(`final training ${t.id} (${t.architecture}) of sweep ${sweepId} queued`);
  return created.map((t) => t.id);
}
