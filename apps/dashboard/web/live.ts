/**
 * The team's live events (GET /v1/events: every event of the team's sweeps, the fleet's changes), delivered to a
 * page in batches, at most one batch per animation frame, so a burst of events costs one update. A small badge
 * says whether the page is live or reconnecting.
 */
import { stream } from "./api.ts";
import { h, setText } from "./dom.ts";

export interface LiveEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface TeamLive {
  /** "live" / "reconnecting…" badge for the page. */
  badge: HTMLElement;
  stop(): void;
}

export function followTeam(onBatch: (events: LiveEvent[]) => void): TeamLive {
  const abort = new AbortController();
  const pending: LiveEvent[] = [];
  let frame = 0;
  const badge = h("span", { class: "live", "data-live": "connecting", role: "status" }, "connecting…");
  const flush = () => {
    frame = 0;
    if (!abort.signal.aborted) onBatch(pending.splice(0));
  };
  void stream(
    "/v1/events",
    (type, data) => {
      pending.push({ type, data: data as Record<string, unknown> });
      if (!frame) frame = requestAnimationFrame(flush);
    },
    abort.signal,
    {
      endOn: null,
      onState: (up) => {
        badge.dataset.live = up ? "live" : "reconnecting";
        setText(badge, up ? "live" : "reconnecting…");
      },
    },
  );
  return {
    badge,
    stop() {
      abort.abort();
      cancelAnimationFrame(frame);
    },
  };
}
