/**
 * Postgres is the truth, Redis the transport: the reconciler makes Redis hold a job for every trial Postgres
 * says is owed (queued, or running under an expired lease) — after Redis lost its data, after an enqueue that
 * failed while Redis was down, or after a worker died — queues the final trainings a sweep owes (its worker died
 * between the last search result and queueing them), and ends sweeps whose trials are all finished.
 * Safe to run in every process at once: enqueueing is idempotent (job id = trial id) and claiming is fenced.
 * Imported as @hypersweep/queue/reconcile (the queue itself needs no database), so that any process holding
 * Postgres and Redis can run it.
 */
import { finishDoneSweeps, owedTrials, sweepsOwingFinal, type Db } from "@hypersweep/db";
import { enqueueTrials, heldTrialIds, type TrialQueue } from "./index.ts";
import { ensureFinalStage } from "./final-stage.ts";

export { ensureFinalStage };

export interface ReconcileReport {
  /** Final trainings queued for sweeps whose search ended without its worker queueing them. */
  finalsQueued: number;
  owed: number;
  enqueued: number;
  sweepsFinished: number;
}

export async function reconcileOnce(db: Db, queue: TrialQueue): Promise<ReconcileReport> {
  let finalsQueued = 0;
  for (const sweepId of await sweepsOwingFinal(db)) finalsQueued += (await ensureFinalStage(db, queue, sweepId)).length;
  const owed = await owedTrials(db);
  let enqueued = 0;
  if (owed.length) {
    const held = await heldTrialIds(queue);
    const missing = owed.filter((t) => !held.has(t.id));
    await enqueueTrials(queue, missing.map((t) => ({ trialId: t.id, sweepId: t.sweepId })));
    enqueued = missing.length;
  }
  const sweepsFinished = await finishDoneSweeps(db);
  return { finalsQueued, owed: owed.length, enqueued, sweepsFinished };
}

export function startReconciler(db: Db, queue: TrialQueue, everyMs: number, log: (msg: string) => void): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const r = await reconcileOnce(db, queue);
      if (r.enqueued || r.sweepsFinished || r.finalsQueued) log(`reconciled: ${r.finalsQueued} final training(s) queued, ${r.enqueued} trial(s) re-enqueued of ${r.owed} owed, ${r.sweepsFinished} sweep(s) finished`);
    } catch (err) {
      log(`reconcile skipped: ${(err as Error).message.split("\n")[0]}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  void tick();
  return () => clearInterval(timer);
}
