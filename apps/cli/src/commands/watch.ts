import cliProgress from "cli-progress";
import type { HypersweepClient } from "../client.ts";

/**
 * Follows a sweep live (server-sent events) with progress bars through both stages: epochs across the sweep,
 * search trials finished, and final trainings finished (of those expected: one per architecture with a winner).
 * Returns the final sweep status, once the final stage is over too. Re-reads the truth whenever the stream
 * reconnects.
 */
export async function watchSweep(client: HypersweepClient, sweepId: string, opts: { quiet?: boolean } = {}): Promise<string> {
  const show = !opts.quiet && process.stderr.isTTY !== undefined;
  const bars = new cliProgress.MultiBar(
    { format: " {label} |{bar}| {value}/{total} {extra}", hideCursor: true, clearOnComplete: false, stopOnComplete: false, noTTYOutput: true, notTTYSchedule: 5000, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let epochs: cliProgress.SingleBar | null = null;
  let trials: cliProgress.SingleBar | null = null;
  let finals: cliProgress.SingleBar | null = null;
  let status = "running";
  const done = (c: any) => c.succeeded + c.failed + c.cancelled;
  const apply = (s: any) => {
    const eta = s.etaSeconds == null ? "ETA –" : `ETA ${s.etaSeconds}s`;
    // Older servers report no stages: everything is one stage.
    const search = s.stages?.search ?? { trials: s.trialCount, counts: s.counts };
    const final = s.stages?.final;
    if (!epochs) epochs = show ? bars.create(s.progress.epochsPlanned, s.progress.epochsDone, { label: "epochs", extra: eta }) : null;
    if (!trials) trials = show ? bars.create(search.trials, done(search.counts), { label: "search", extra: "" }) : null;
    if (!finals && final?.expected > 0) finals = show ? bars.create(final.expected, done(final.counts), { label: "final ", extra: "" }) : null;
    epochs?.setTotal(s.progress.epochsPlanned);
    epochs?.update(s.progress.epochsDone, { extra: eta });
    trials?.setTotal(search.trials);
    trials?.update(done(search.counts), { extra: `trials · running ${search.counts.running} · failed ${search.counts.failed}` });
    if (final) {
      finals?.setTotal(Math.max(1, final.expected));
      const waiting = final.waiting ? ` · ${final.waiting} waiting for their search` : "";
      finals?.update(done(final.counts), { extra: `trainings · running ${final.counts.running} · epochs ${final.progress.epochsDone}${waiting}` });
    }
    status = s.status;
  };
  try {
    for (let tries = 0; tries < 100; tries++) {
      try {
        for await (const { event } of client.events(sweepId)) {
          if (event === "snapshot" || event === "trial.finished" || event === "epoch.done" || event === "final.queued") {
            // Counts come from the truth, so a missed or repeated event never skews the bars.
            apply(await client.request("GET", `/v1/sweeps/${sweepId}`));
          }
          if (event === "sweep.finished") {
            apply(await client.request("GET", `/v1/sweeps/${sweepId}`));
            return status;
          }
        }
        const s = await client.request("GET", `/v1/sweeps/${sweepId}`);
        apply(s);
        if (["succeeded", "failed", "cancelled"].includes(s.status)) return s.status;
      } catch (err) {
        if ((err as { status?: number }).status === 404 || (err as { status?: number }).status === 401) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    return status;
  } finally {
    bars.stop();
  }
}
