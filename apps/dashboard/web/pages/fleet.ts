/**
 * Fleet: every worker node, its host, GPUs, backend, version, heartbeat age (stale ones marked), running trials;
 * a quarantined node is marked, with the reason and until when.
 */
import { get } from "../api.ts";
import { h, replace, table } from "../dom.ts";
import { ago, date } from "../format.ts";
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
  let timer: ReturnType<typeof setInterval> | undefined;
  const body = h("div", { "aria-live": "polite" });
  async function load(): Promise<void> {
    const { workers } = await get<{ workers: Worker[] }>("/v1/workers");
    const alive = workers.filter((w) => w.alive);
    const quarantined = alive.filter((w) => w.quarantine);
    replace(
      body,
      h("p", null, `${alive.length} alive of ${workers.length} workers${quarantined.length ? ` (${quarantined.length} quarantined)` : ""} · ${alive.filter((w) => !w.quarantine).reduce((n, w) => n + w.concurrency, 0)} trainer slots · ${workers.reduce((n, w) => n + w.runningTrials, 0)} trials running`),
      workers.length
        ? table(
            ["Worker", "Host", "PID", "GPUs", "Trainers (backend)", "Version", "Slots", "Running trials", "Heartbeat", "State", "Started"],
            workers.map((w) => [
              w.id,
              w.host,
              String(w.pid),
              w.gpus.length ? w.gpus.join(", ") : "none",
              trainers(w),
              w.version,
              String(w.concurrency),
              String(w.runningTrials),
              ago(w.lastHeartbeatAt),
              state(w),
              date(w.startedAt),
            ]),
            { "data-table": "workers" },
          )
        : h("p", { class: "muted" }, "No worker has registered yet: start one with `npx tsx apps/worker/src/main.ts`."),
    );
  }
  return {
    async render() {
      replace(ctx.main, h("h1", null, "Fleet"), h("section", { class: "card" }, body));
      await load();
      timer = setInterval(() => void load().catch(() => {}), 5000);
    },
    dispose() {
      clearInterval(timer);
    },
  };
}
