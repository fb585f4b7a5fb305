import { subscribeEvents, type EventSubscription, type SweepEvent } from "@hypersweep/db";

export type HubMessage = SweepEvent | "reconnected";

/** One LISTEN connection per API process, fanned out to the SSE streams of each sweep. */
export class EventHub {
  private readonly listeners = new Map<string, Set<(e: HubMessage) => void>>();
  private sub: EventSubscription | null = null;

  constructor(private readonly url: string, private readonly log?: (msg: string) => void) {}

  start(): void {
    this.sub = subscribeEvents(this.url, (e) => this.emit(e.sweepId, e), {
      log: this.log,
      onReconnect: () => {
        for (const [sweepId] of this.listeners) this.emit(sweepId, "reconnected");
      },
    });
  }

  subscribe(sweepId: string, fn: (e: HubMessage) => void): () => void {
    let set = this.listeners.get(sweepId);
    if (!set) this.listeners.set(sweepId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(sweepId);
    };
  }

  private emit(sweepId: string, e: HubMessage): void {
    for (const fn of this.listeners.get(sweepId) ?? []) {
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
