import type { FastifyInstance } from "fastify";
import type { ApiConfig } from "@hypersweep/config";
import type { Db } from "@hypersweep/db";
import type { TrialQueue } from "@hypersweep/queue";
import type { EventHub } from "./events.ts";
import type { FleetWatches } from "./fleet-watch.ts";
import type { StreamCounter } from "./limits.ts";
import type { ApiMetrics } from "./metrics.ts";
import type { WorkerTokenCache } from "./plugins/worker-auth.ts";

/** What every route plugin receives. */
export interface AppDeps {
  db: Db;
  queue: TrialQueue;
  config: ApiConfig;
  events: EventHub;
  /** The team's open event streams (per sweep and team-wide), counted together. */
  streams: StreamCounter;
  /** The fleet's changes for team-wide streams. */
  fleet: FleetWatches;
  metrics: ApiMetrics;
  /** Worker token lookups of this process (the admin route that revokes a token clears its entries). */
  workerTokens: WorkerTokenCache;
}

/** Extra route plugins mounted under /v1 behind team auth. */
export type V1Plugin = (deps: AppDeps) => (app: FastifyInstance) => Promise<void>;
