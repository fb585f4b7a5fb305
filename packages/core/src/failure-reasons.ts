/**
 * What an attempt's failure says, by its reason (the trainer contract's error reasons, and the worker's own:
 * crashed, spawn, protocol). Two questions the worker and the lease protocol ask of every failure:
 *  - is it worth another attempt? A bad spec fails the same way every time, and so does divergence: a trial's
 *    seed is fixed by its plan, so a diverged run diverges again;
 *  - does it count against the node it ran on? A trainer that crashes, cannot start, talks nonsense, or fails
 *    on an internal or data error points at the machine (its drivers, its disk, its mount), not at the trial.
 *    Divergence, a bad spec and cancellation are the trial's own business.
 */
export const NODE_FAULT_REASONS = ["crashed", "spawn", "protocol", "internal", "data"] as const;
export const FINAL_REASONS = ["bad_spec", "diverged"] as const;

/** True when another attempt could end differently. */
export function isRetryableReason(reason: string): boolean {
  return !(FINAL_REASONS as readonly string[]).includes(reason);
}

/** True when the failure counts against the node that ran the attempt (towards its quarantine). */
export function isNodeFault(reason: string): boolean {
  return (NODE_FAULT_REASONS as readonly string[]).includes(reason);
}
