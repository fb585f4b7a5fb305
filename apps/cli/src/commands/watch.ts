import cliProgress from "cli-progress";
import type { HypersweepClient } from "../client.ts";

/**
 * Follows a sweep live (server-sent events) with progress bars: epochs across the sweep, and trials finished.
 * Returns the final sweep status. Re-reads the truth whenever the stream reconnects.
 */
export async function watchSweep(client: HypersweepClient, sweepId: string, opts: { quiet?: boolean } = {}): Promise<string> {
  const show = !opts.quiet && process.stderr.isTTY !== undefined;
  const bars = new cliProgress.MultiBar(
    { format: " {label} |{bar}| {value}/{total} {extra}", hideCursor: true, clearOnComplete: false, stopOnComplete: false, noTTYOutput: true, notTTYSchedule: 5000, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let epochs: cliProgress.SingleBar | null = null;
  let trials: cliProgress.SingleBar | null = null;
  let status = "running";
  const apply = (s: any) => {
    const finished = s.counts.succeeded + s.counts.failed + s.counts.cancelled;
    const eta = s.etaSeconds == null ? "ETA –" : `ETA ${s.etaSeconds}s`;
    if (!epochs) epochs = show ? bars.create(s.progress.epochsPlanned, s.progress.epochsDone, { label: "epochs", extra: eta }) : null;
    if (!trials) trials = show ? bars.create(s.trialCount, finished, { label: "trials", extra: "" }) : null;
    epochs?.setTotal(s.progress.epochsPlanned);
    epochs?.update(s.progress.epochsDone, { extra: eta });
    trials?.update(finished, { extra: `running ${s.counts.running} · failed ${s.counts.failed}` });
    status = s.status;
  };
  try {
    for (let tries = 0; tries < 100; tries++) {
      try {
        for await (const { event } of client.events(sweepId)) {
          if (event === "snapshot" || event === "trial.finished" || event === "epoch.done" || event === "trial.started") {
            // Counts come from the truth, so a missed or repeated event never skews the bars.
            if (event !== "snapshot" && event !== "trial.finished" && event !== "epoch.done") continue;
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
