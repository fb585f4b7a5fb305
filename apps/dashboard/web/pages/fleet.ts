/**
 * Fleet: every worker node, its host, GPUs, backend, version, heartbeat age (stale ones marked), running trials;
 * a quarantined node is marked, with the reason and until when.
 * Live over the team's event stream (no polling): `snapshot` gives the whole fleet, `workers.changed` the rows
 * that changed, the heartbeats and the workers gone; a batch (one per animation frame) redraws the table once.
 * Heartbeat ages count up every second in the page itself, without asking the API.
 */
import { get } from "../api.ts";
import { h, replace, setText, table } from "../dom.ts";
import { ago, date } from "../format.ts";
import { followTeam, type LiveEvent, type TeamLive } from "../live.ts";
import type { Page, PageContext } from "../page.ts";

interface Quarantine { since: string; until: string; reason: string; attempts: Array<{ reason: string; finishedAt: string }> }
interface Worker { id: string; host: string; pid: number; gpus: string[]; backend: string | null; version: string; concurrency: number; status: string; startedAt: string; lastHeartbeatAt: string; alive: boolean; runningTrials: number; quarantine?: Quarantine | null; trainers?: string[]; backends?: Record<string, string> }

/** Each trainer the worker runs, with the backend it reported (once it has run a trial). */
function trainers(w: Worker): string {
  if (!w.trainers?.length) return w.backend ?? "–";
  return w.trainers.map((t) => (w.backends?.[t] ? `${t}: ${w.backends[t]}` : t)).join(" · ");
}

function state(w: Worker) {
  if (w.quarantine && w.alive) {
    return h("span", { "data-quarantine": "" },
      h("span", { class: "badge s-failed", title: `until ${date(w.quarantine.until)}` }, "quarantined"),
      h("span", { class: "muted why", "data-field": "quarantine-reason" }, `${w.quarantine.reason}; until ${date(w.quarantine.until)}`));
  }
  return w.alive ? h("span", { class: "badge s-succeeded" }, "alive") : h("span", { class: "badge stale", "data-stale": "" }, w.status === "stopped" ? "stopped" : "stale");
}

export function fleetPage(ctx: PageContext): Page {
  let live: TeamLive | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  const workers = new Map<string, Worker>();
  const summary = h("p", { class: "summary", "data-field": "fleet-summary" });
  const body = h("div");

  function redraw(): void {
    const all = [...workers.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    const alive = all.filter((w) => w.alive);
    const quarantined = alive.filter((w) => w.quarantine);
    setText(summary, `${alive.length} alive of ${all.length} workers${quarantined.length ? ` (${quarantined.length} quarantined)` : ""} · ${alive.filter((w) => !w.quarantine).reduce((n, w) => n + w.concurrency, 0)} trainer slots · ${all.reduce((n, w) => n + w.runningTrials, 0)} trials running`);
    replace(
      body,
      all.length
        ? table(
            ["Worker", "State", "Heartbeat", "Running trials", "Slots", "Host", "PID", "GPUs", "Trainers (backend)", "Version", "Started"],
            all.map((w) => [
              // What a person scans for first (state, heartbeat, load) comes first: on a phone the rest scrolls.
              h("span", { "data-worker": w.id }, w.id),
              state(w),
              h("span", { "data-heartbeat": w.lastHeartbeatAt }, ago(w.lastHeartbeatAt)),
              h("span", { "data-cell": "running" }, String(w.runningTrials)),
              String(w.concurrency),
              w.host,
              String(w.pid),
              w.gpus.length ? w.gpus.join(", ") : "none",
              h("span", { "data-cell": "trainers" }, trainers(w)),
              w.version,
              date(w.startedAt),
            ]),
            { "data-table": "workers" },
          )
        : h("p", { class: "muted" }, "No worker has registered yet: start one with `npx tsx apps/worker/src/main.ts`."),
    );
  }

  function onBatch(events: LiveEvent[]): void {
    // A batch of heartbeats alone touches only their cells; anything else redraws the table once.
    let changed = false;
    const beats = new Set<string>();
    for (const e of events) {
      if (e.type === "snapshot") {
        workers.clear();
        for (const w of e.data.workers as Worker[]) workers.set(w.id, w);
        changed = true;
      } else if (e.type === "workers.changed") {
        const rows = e.data.workers as Worker[];
        const removed = e.data.removed as string[];
        for (const w of rows) workers.set(w.id, w);
        for (const b of e.data.heartbeats as Array<{ id: string; lastHeartbeatAt: string }>) {
          const w = workers.get(b.id);
          if (w) (w.lastHeartbeatAt = b.lastHeartbeatAt), beats.add(b.id);
        }
        for (const id of removed) workers.delete(id);
        if (rows.length || removed.length) changed = true;
      }
    }
    if (changed) return redraw();
    for (const id of beats) {
      const cell = body.querySelector<HTMLElement>(`tr:has([data-worker="${CSS.escape(id)}"]) [data-heartbeat]`);
      if (!cell) continue;
      cell.dataset.heartbeat = workers.get(id)!.lastHeartbeatAt;
      setText(cell, ago(cell.dataset.heartbeat));
    }
  }

  return {
    async render() {
      live = followTeam(onBatch);
      replace(ctx.main, h("div", { class: "title-row" }, h("h1", null, "Fleet"), live.badge), h("section", { class: "card", "aria-live": "polite" }, summary, body));
      const first = await get<{ workers: Worker[] }>("/v1/workers");
      // The stream's snapshot may have come first: it is as new as this answer or newer.
      if (!workers.size) {
        for (const w of first.workers) workers.set(w.id, w);
        redraw();
      }
      ticker = setInterval(() => body.querySelectorAll<HTMLElement>("[data-heartbeat]").forEach((el) => setText(el, ago(el.dataset.heartbeat!))), 1000);
    },
    dispose() {
      live?.stop();
      clearInterval(ticker);
    },
  };
}
