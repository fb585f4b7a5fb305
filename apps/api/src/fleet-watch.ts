/**
 * The fleet for live views: while at least one team-wide event stream is open, this API process reads the
 * workers (the rows GET /v1/workers answers) every `everyMs` and tells its listeners what changed since the last
 * read, in one message: workers whose state changed (status, alive, running trials, backend, …: the whole row),
 * workers that only sent a heartbeat (id and time), and workers no longer listed. A worker going stale writes
 * nothing, so a read is the only way to see it; one read per team per process serves all its open streams.
 * Each team reads the fleet as GET /v1/workers shows it to that team (another team's quarantined attempts keep
 * their reason and time, not their trial or message).
 */
import { listWorkers, type Db } from "@hypersweep/db";

export type WorkerRow = Awaited<ReturnType<typeof listWorkers>>[number];

export interface FleetChange {
  type: "workers.changed";
  workers: WorkerRow[];
  heartbeats: Array<{ id: string; lastHeartbeatAt: Date }>;
  removed: string[];
}

const stateOf = (w: WorkerRow) => JSON.stringify({ ...w, lastHeartbeatAt: undefined });

/** What changed between two reads of the fleet (null when nothing did). */
export function fleetChange(before: Map<string, WorkerRow>, now: WorkerRow[]): FleetChange | null {
  const change: FleetChange = { type: "workers.changed", workers: [], heartbeats: [], removed: [] };
  const seen = new Set<string>();
  for (const w of now) {
    seen.add(w.id);
    const old = before.get(w.id);
    if (!old || stateOf(old) !== stateOf(w)) change.workers.push(w);
    else if (old.lastHeartbeatAt.getTime() !== w.lastHeartbeatAt.getTime()) change.heartbeats.push({ id: w.id, lastHeartbeatAt: w.lastHeartbeatAt });
  }
  for (const id of before.keys()) if (!seen.has(id)) change.removed.push(id);
  return change.workers.length || change.heartbeats.length || change.removed.length ? change : null;
}

/** One FleetWatch per team with open streams. */
export class FleetWatches {
  private readonly teams = new Map<string, FleetWatch>();
  constructor(private readonly db: Db, private readonly everyMs = 2000) {}

  private of(teamId: string): FleetWatch {
    let w = this.teams.get(teamId);
    if (!w) this.teams.set(teamId, (w = new FleetWatch(this.db, teamId, this.everyMs, () => this.teams.delete(teamId))));
    return w;
  }

  read(teamId: string): Promise<WorkerRow[]> {
    return this.of(teamId).read();
  }

  subscribe(teamId: string, fn: (c: FleetChange) => void): () => void {
    return this.of(teamId).subscribe(fn);
  }

  stop(): void {
    for (const w of [...this.teams.values()]) w.stop();
  }
}

export class FleetWatch {
  private readonly listeners = new Set<(c: FleetChange) => void>();
  private last: Map<string, WorkerRow> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;

  constructor(private readonly db: Db, private readonly teamId: string, private readonly everyMs = 2000, private readonly onIdle?: () => void) {}

  /** The fleet now, as this team sees it (also the base the next change is computed from). */
  async read(): Promise<WorkerRow[]> {
    const rows = await listWorkers(this.db, undefined, this.teamId);
    if (!this.last) this.last = new Map(rows.map((w) => [w.id, w]));
    return rows;
  }

  subscribe(fn: (c: FleetChange) => void): () => void {
    this.listeners.add(fn);
    this.timer ??= setInterval(() => void this.tick(), this.everyMs);
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private async tick(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const rows = await listWorkers(this.db, undefined, this.teamId);
      const change = this.last ? fleetChange(this.last, rows) : null;
      this.last = new Map(rows.map((w) => [w.id, w]));
      if (change) for (const fn of this.listeners) fn(change);
    } catch {
      // Postgres away: the next tick tries again; streams carry on with sweep events.
    } finally {
      this.reading = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.last = null;
    this.onIdle?.();
  }
}
