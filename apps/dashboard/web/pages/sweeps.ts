/** Sweeps: every sweep of the team with status, dataset, scenario, architectures, progress, ETA and best score. */
import { get } from "../api.ts";
import { h, replace, table } from "../dom.ts";
import { duration, num, pct } from "../format.ts";
import type { Page, PageContext } from "../page.ts";
import { progressBar, statusBadge } from "./common.ts";

interface Overview {
  id: string; name: string | null; status: string; datasetId: string; datasetName: string; scenarioKey: string;
  architectures: string[]; stage: string; trialCount: number; counts: Record<string, number>;
  progress: { epochsDone: number; epochsPlanned: number; fraction: number }; etaSeconds: number | null; bestScore: number | null; createdAt: string;
}

const STATUSES = ["", "queued", "running", "succeeded", "failed", "cancelled"];

export function sweepsPage(ctx: PageContext): Page {
  let timer: ReturnType<typeof setInterval> | undefined;
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const filter = { status: params.get("status") ?? "", dataset: params.get("dataset") ?? "" };
  const body = h("div", { "aria-live": "polite" });

  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: "200", ...(filter.status ? { status: filter.status } : {}), ...(filter.dataset ? { dataset: filter.dataset } : {}) });
    const { sweeps } = await get<{ sweeps: Overview[] }>(`/v1/overview/sweeps?${q}`);
    if (!sweeps.length) {
      replace(body, h("p", { class: "muted" }, "No sweeps match. Submit one with ", h("code", null, "hypersweep submit"), " or POST /v1/sweeps."));
      return;
    }
    replace(
      body,
      table(
        ["Sweep", "Status", "Dataset", "Scenario", "Architectures", "Stage", "Trials", "Progress", "ETA", "Best so far"],
        sweeps.map((s) => [
          h("a", { href: `#/sweeps/${s.id}` }, s.name ?? s.id.slice(0, 8)),
          statusBadge(s.status),
          h("a", { href: `#/datasets/${encodeURIComponent(s.datasetId)}` }, s.datasetName),
          s.scenarioKey,
          s.architectures.join(", "),
          s.stage,
          `${s.counts.succeeded}/${s.trialCount}${s.counts.failed ? ` (${s.counts.failed} failed)` : ""}`,
          h("div", null, progressBar(s.progress.fraction, "epochs done"), h("span", { class: "muted" }, pct(s.progress.fraction))),
          s.status === "running" || s.status === "queued" ? duration(s.etaSeconds) : "–",
          num(s.bestScore),
        ]),
        { "data-table": "sweeps" },
      ),
    );
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
      replace(
        ctx.main,
        h("h1", null, "Sweeps"),
        h("div", { class: "card" }, h("div", { class: "toolbar" }, h("label", { for: "f-status" }, "Status", status), h("label", { for: "f-dataset" }, "Dataset", dataset)), body),
      );
      await load();
      timer = setInterval(() => void load().catch(() => {}), 5000);
    },
    dispose() {
      clearInterval(timer);
    },
  };
}
