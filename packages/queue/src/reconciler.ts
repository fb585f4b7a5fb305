/**
 * Postgres is the truth, Redis the transport: the reconciler keeps one wake-up token in the queue per trial
 * Postgres says is owed (waiting or running) — after Redis lost its data, after an enqueue that failed while
 * Redis was down, or after a worker died — queues the final trainings a sweep owes (its worker died between the
 * last search result and queueing them), fails trials that are owed but out of attempts, and ends sweeps whose
 * trials are all finished. Tokens are interchangeable (a worker runs the trial fair share says is next, not the
 * one its job is named after), so the check is a count: live jobs against owed trials. A missing token is added
 * under the id of an owed trial that has no job, so reconcilers running at once in every worker add the same
 * jobs, and a second add is a no-op. Imported as @hypersweep/queue/reconcile (the queue itself needs no
 * database), so that any process holding Postgres and Redis can run it.
 */
import { failExhaustedTrials, finishDoneSweeps, owedWork, sweepsOwingFinal, type Db, type LeaseOptions } from "@hypersweep/db";
import { enqueueTrials, heldTrialIds, liveTokenCount, type TrialQueue } from "./index.ts";
import { ensureFinalStage } from "./final-stage.ts";

export { ensureFinalStage };

export interface ReconcileReport {
  /** Final trainings queued for sweeps whose search ended without its worker queueing them. */
  finalsQueued: number;
  /** Trials waiting or running (each needs a live token). */
  owed: number;
  /** Tokens added. */
  enqueued: number;
  /** Owed trials failed for good because they were out of attempts. */
  exhausted: number;
  sweepsFinished: number;
}

const DEFAULT_LEASE: LeaseOptions = { leaseMs: 15_000, maxAttempts: 3 };

export async function reconcileOnce(db: Db, queue: TrialQueue, lease: LeaseOptions = DEFAULT_LEASE): Promise<ReconcileReport> {
  let finalsQueued = 0;
  for (const sweepId of await sweepsOwingFinal(db)) finalsQueued += (await ensureFinalStage(db, queue, sweepId)).length;
  const exhausted = await failExhaustedTrials(db, lease);
  // Postgres first, then Redis: a trial stored in between has its job added by its producer (or next time).
  const owed = await owedWork(db);
  let enqueued = 0;
  if (owed.count > 0) {
    const missing = owed.count - (await liveTokenCount(queue));
    if (missing > 0) {
      const held = await heldTrialIds(queue);
      const add = owed.ids.filter((t) => !held.has(t.id)).slice(0, missing);
      await enqueueTrials(queue, add.map((t) => ({ trialId: t.id, sweepId: t.sweepId })));
      enqueued = add.length;
    }
    // More tokens than owed trials (tokens re-added while their trials ran on after Redis was emptied) is
    // harmless: a token whose worker finds nothing owed at all ends there.
  }
  const sweepsFinished = await finishDoneSweeps(db);
  return { finalsQueued, owed: owed.count, enqueued, exhausted, sweepsFinished };
}

export function startReconciler(db: Db, queue: TrialQueue, everyMs: number, log: (msg: string) => void, lease: LeaseOptions = DEFAULT_LEASE): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const r = await reconcileOnce(db, queue, lease);
      if (r.enqueued || r.sweepsFinished || r.finalsQueued || r.exhausted) {
        log(`reconciled: ${r.finalsQueued} final training(s) queued, ${r.enqueued} token(s) added for ${r.owed} owed trial(s), ${r.exhausted} out of attempts, ${r.sweepsFinished} sweep(s) finished`);
      }
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
