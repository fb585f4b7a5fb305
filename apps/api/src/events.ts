import { subscribeEvents, type EventSubscription, type SweepEvent } from "@hypersweep/db";

export type HubMessage = SweepEvent | "reconnected";

type Listener = (e: HubMessage) => void;

/**
 * One LISTEN connection per API process, fanned out to the SSE streams of each sweep and to the team-wide
 * streams (every event of a team's sweeps; an event reaches only the streams of its own team).
 */
export class EventHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly teams = new Map<string, Set<Listener>>();
  private sub: EventSubscription | null = null;

  constructor(private readonly url: string, private readonly log?: (msg: string) => void) {}

  start(): void {
    this.sub = subscribeEvents(
      this.url,
      (e) => {
        this.emit(this.listeners, e.sweepId, e);
        this.emit(this.teams, e.teamId, e);
      },
      {
        log: this.log,
        onReconnect: () => {
          for (const [sweepId] of this.listeners) this.emit(this.listeners, sweepId, "reconnected");
          for (const [teamId] of this.teams) this.emit(this.teams, teamId, "reconnected");
        },
      },
    );
  }

  /** Events of one sweep. */
  subscribe(sweepId: string, fn: Listener): () => void {
    return add(this.listeners, sweepId, fn);
  }

  /** Events of every sweep of one team. */
  subscribeTeam(teamId: string, fn: Listener): () => void {
    return add(this.teams, teamId, fn);
  }

  private emit(map: Map<string, Set<Listener>>, key: string, e: HubMessage): void {
    for (const fn of map.get(key) ?? []) {
      try {
        fn(e);
      } catch {
        // A broken stream must not stop the others.
      }
    }
  }

  async close(): Promise<void> {
    await this.sub?.close();
  }
}

function add(map: Map<string, Set<Listener>>, key: string, fn: Listener): () => void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(fn);
  return () => {
    set.delete(fn);
    if (set.size === 0) map.delete(key);
  };
}
