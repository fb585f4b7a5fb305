/**
 * Sweeps: every sweep of the team with status, dataset, scenario, architectures, progress, ETA and best score.
 * Live over the team's event stream (no polling): a batch of events (one per animation frame) moves the progress
 * bars of the sweeps whose epochs finished at once; trials finishing, sweeps created or finished, and a
 * reconnect re-read the list (at most every REFRESH_MS), which corrects every number to the API's.
 */
import { get } from "../api.ts";
import { h, replace, setText, table } from "../dom.ts";
import { duration, num, pct } from "../format.ts";
import { followTeam, type LiveEvent, type TeamLive } from "../live.ts";
import type { Page, PageContext } from "../page.ts";
import { progressBar, statusBadge } from "./common.ts";

interface Overview {
  id: string; name: string | null; status: string; datasetId: string; datasetName: string; scenarioKey: string;
  architectures: string[]; stage: string; trialCount: number; counts: Record<string, number>;
  progress: { epochsDone: number; epochsPlanned: number; fraction: number }; etaSeconds: number | null; bestScore: number | null; createdAt: string;
  /** Why the sweep failed (its final trainings that failed for good, and why), else null. */
  error: string | null;
}

const STATUSES = ["", "queued", "running", "succeeded", "failed", "cancelled"];
const REFRESH_MS = 2000;
/** Events after which the list is re-read (the rest, epochs, move the progress bars in place). */
const REREAD = new Set(["snapshot", "sweep.created", "sweep.finished", "trial.started", "trial.finished", "final.queued"]);

export function sweepsPage(ctx: PageContext): Page {
  let live: TeamLive | undefined;
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const filter = { status: params.get("status") ?? "", dataset: params.get("dataset") ?? "" };
  const body = h("div", { "aria-live": "polite" });
  let shown = new Map<string, Overview>();
  /** The last epoch seen per trial since the list was read: each new one is one more epoch done. */
  const lastEpoch = new Map<string, number>();
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let lastRead = 0;
  let disposed = false;

  const progressCell = (s: Overview) => h("div", { "data-cell": "progress" }, progressBar(s.progress.fraction, "epochs done"), h("span", { class: "muted" }, pct(s.progress.fraction)));

  async function load(): Promise<void> {
    lastRead = Date.now();
    const q = new URLSearchParams({ limit: "200", ...(filter.status ? { status: filter.status } : {}), ...(filter.dataset ? { dataset: filter.dataset } : {}) });
    const { sweeps } = await get<{ sweeps: Overview[] }>(`/v1/overview/sweeps?${q}`);
    if (disposed) return;
    shown = new Map(sweeps.map((s) => [s.id, s]));
    lastEpoch.clear();
    if (!sweeps.length) {
      replace(body, h("p", { class: "muted" }, "No sweeps match. Submit one with ", h("code", null, "hypersweep submit"), " or POST /v1/sweeps."));
      return;
    }
    replace(
      body,
      table(
        ["Sweep", "Status", "Progress", "Best so far", "ETA", "Trials", "Stage", "Dataset", "Scenario", "Architectures"],
        sweeps.map((s) => [
          h("a", { href: `#/sweeps/${s.id}`, "data-sweep": s.id }, s.name ?? s.id.slice(0, 8)),
          // Where each sweep stands comes first: on a phone the rest scrolls.
          s.error ? h("div", { "data-cell": "status" }, statusBadge(s.status), h("div", { class: "muted", "data-sweep-error": s.id }, s.error)) : statusBadge(s.status),
          progressCell(s),
          num(s.bestScore),
          s.status === "running" || s.status === "queued" ? duration(s.etaSeconds) : "–",
          `${s.counts.succeeded}/${s.trialCount}${s.counts.failed ? ` (${s.counts.failed} failed)` : ""}`,
          s.stage,
          h("a", { href: `#/datasets/${encodeURIComponent(s.datasetId)}` }, s.datasetName),
          s.scenarioKey,
          s.architectures.join(", "),
        ]),
        { "data-table": "sweeps" },
      ),
    );
    body.querySelectorAll("tbody tr").forEach((tr, i) => tr.setAttribute("data-row", sweeps[i]!.id));
  }

  function scheduleRead(): void {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      void load().catch(() => {});
    }, Math.max(0, lastRead + REFRESH_MS - Date.now()));
  }

  // The list is read once the stream is open (its first snapshot), so no event falls between the two.
  let ready = false;
  let opened!: () => void;
  const streamOpen = new Promise<void>((r) => (opened = r));

  function onBatch(events: LiveEvent[]): void {
    if (!ready) {
      if (events.some((e) => e.type === "snapshot")) opened();
      return;
    }
    const moved = new Set<string>();
    for (const e of events) {
      if (REREAD.has(e.type)) {
        scheduleRead();
        continue;
      }
      if (e.type !== "epoch.done") continue;
      const s = shown.get(e.data.sweepId as string);
      const trial = e.data.trialId as string;
      const epoch = e.data.epoch as number;
      if (!s || epoch <= (lastEpoch.get(trial) ?? 0)) continue;
      lastEpoch.set(trial, epoch);
      s.progress.epochsDone = Math.min(s.progress.epochsPlanned, s.progress.epochsDone + 1);
      s.progress.fraction = s.progress.epochsPlanned ? s.progress.epochsDone / s.progress.epochsPlanned : 0;
      moved.add(s.id);
    }
    for (const id of moved) {
      const cell = body.querySelector(`tr[data-row="${id}"] [data-cell=progress]`);
      const s = shown.get(id)!;
      if (!cell) continue;
      const bar = cell.querySelector<HTMLElement>(".progress");
      bar?.setAttribute("aria-valuenow", String(Math.round(s.progress.fraction * 100)));
      bar?.querySelector<HTMLElement>("span")?.style.setProperty("width", `${(s.progress.fraction * 100).toFixed(1)}%`);
      const label = cell.querySelector(".muted");
      if (label) setText(label, pct(s.progress.fraction));
    }
  }

  return {
    async render() {
      const { datasets } = await get<{ datasets: Array<{ id: string; name: string }> }>("/v1/datasets");
      const status = h("select", { id: "f-status", onchange: (e: Event) => ((filter.status = (e.target as HTMLSelectElement).value), void load()) }, STATUSES.map((s) => h("option", { value: s, selected: s === filter.status }, s || "any")));
      const dataset = h(
        "select",
        { id: "f-dataset", onchange: (e: Event) => ((filter.dataset = (e.target as HTMLSelectElement).value), void load()) },
        h("option", { value: "" }, "any"),
        datasets.map((d) => h("option", { value: d.id, selected: d.id === filter.dataset }, d.name)),
      );
      live = followTeam(onBatch);
      replace(
        ctx.main,
        h("div", { class: "title-row" }, h("h1", null, "Sweeps"), live.badge),
        h("div", { class: "card" }, h("div", { class: "toolbar" }, h("label", { for: "f-status" }, "Status", status), h("label", { for: "f-dataset" }, "Dataset", dataset)), body),
      );
      // Without a stream (an old API, a proxy that buffers) the page still shows the list, only not live.
      await Promise.race([streamOpen, new Promise((r) => setTimeout(r, 3000))]);
      ready = true;
      await load();
    },
    dispose() {
      disposed = true;
      live?.stop();
      clearTimeout(refreshTimer);
    },
  };
}
