/**
 * Progress events travel through Postgres NOTIFY, sent inside the transaction that writes the fact, so an
 * event is delivered only once its fact is committed (and never for a rolled-back write). Events are
 * transient hints for live views (SSE); clients re-read the truth after reconnecting.
 */
import pg from "pg";
import { z } from "zod";

export const EVENTS_CHANNEL = "hypersweep_events";

export const SweepEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("sweep.created"), teamId: z.string(), sweepId: z.string(), trials: z.number() }),
  z.object({ type: z.literal("trial.started"), teamId: z.string(), sweepId: z.string(), trialId: z.string(), attempt: z.number(), workerId: z.string(), stage: z.enum(["search", "final"]).optional() }),
  z.object({ type: z.literal("epoch.done"), teamId: z.string(), sweepId: z.string(), trialId: z.string(), epoch: z.number(), valLoss: z.number(), valAuc: z.number().nullable(), valF1: z.number().nullable() }),
  z.object({ type: z.literal("trial.finished"), teamId: z.string(), sweepId: z.string(), trialId: z.string(), status: z.string(), selectionScore: z.number().nullable().optional(), error: z.string().nullable().optional(), stage: z.enum(["search", "final"]).optional(), stoppedEarlyAt: z.number().optional() }),
  /** The final stage began for some architectures: their winners' final trainings are queued. */
  z.object({ type: z.literal("final.queued"), teamId: z.string(), sweepId: z.string(), trials: z.array(z.object({ id: z.string(), architecture: z.string() })) }),
  z.object({ type: z.literal("sweep.finished"), teamId: z.string(), sweepId: z.string(), status: z.string(), error: z.string().nullable().optional() }),
]);
export type SweepEvent = z.infer<typeof SweepEvent>;

interface RawQueryable {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

export async function notifyInTx(tx: RawQueryable, event: SweepEvent): Promise<void> {
  await tx.$executeRawUnsafe(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, JSON.stringify(event));
}

export interface EventSubscription {
  close(): Promise<void>;
  /** True while the LISTEN connection is up. */
  readonly connected: boolean;
}

/**
 * LISTENs for events on a dedicated connection and reconnects (with backoff up to 5 s) whenever Postgres goes
 * away; `onReconnect` lets live views re-read the truth they may have missed.
 */
export function subscribeEvents(
  url: string,
  onEvent: (e: SweepEvent) => void,
  opts: { onReconnect?: () => void; log?: (msg: string) => void } = {},
): EventSubscription {
  let client: pg.Client | null = null;
  let closed = false;
  let connected = false;
  let delay = 250;
  let timer: NodeJS.Timeout | null = null;
  let everConnected = false;

  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    delay = Math.min(delay * 2, 5000);
  };

  const connect = async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000, keepAlive: true });
    client = c;
    c.on("error", (err) => {
      opts.log?.(`event listener: ${err.message}`);
      connected = false;
      c.end().catch(() => {});
      if (client === c) schedule();
    });
    c.on("end", () => {
      connected = false;
      if (client === c && !closed) schedule();
    });
    c.on("notification", (msg) => {
      if (msg.channel !== EVENTS_CHANNEL || !msg.payload) return;
      try {
        const parsed = SweepEvent.safeParse(JSON.parse(msg.payload));
        if (parsed.success) onEvent(parsed.data);
      } catch {
        // A malformed payload is not ours to crash on.
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${EVENTS_CHANNEL}`);
      if (closed) {
        await c.end();
        return;
      }
      connected = true;
      delay = 250;
      if (everConnected) opts.onReconnect?.();
      everConnected = true;
    } catch (err) {
      opts.log?.(`event listener: ${(err as Error).message}`);
      connected = false;
      c.end().catch(() => {});
      if (client === c) schedule();
    }
  };

  void connect();
  return {
    get connected() {
      return connected;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => {});
    },
  };
}
