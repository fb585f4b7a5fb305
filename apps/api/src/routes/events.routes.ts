/**
 * GET /v1/events: one server-sent event stream for a team's live views (the sweeps list, the fleet). It carries
 * the events of every sweep of the key's team, exactly as GET /v1/sweeps/:id/events sends them (trial.started,
 * epoch.done, trial.finished, final.queued, sweep.created, sweep.finished), never another team's, and
 * `workers.changed` when the fleet changes. It opens with a `snapshot` (the team's sweeps as
 * GET /v1/overview/sweeps answers them, and the workers as GET /v1/workers does), sent again whenever the API's
 * own Postgres listener reconnected (events may have been missed meanwhile). Read keys may open it; it counts
 * against the team's open streams like a sweep's stream.
 */
import type { FastifyInstance } from "fastify";
import { sweepOverview } from "@hypersweep/db";
import type { AppDeps } from "../deps.ts";
import { openSse } from "../sse.ts";

export function eventRoutes(deps: AppDeps) {
  return async (app: FastifyInstance) => {
    app.get("/events", {
      schema: {
        tags: ["sweeps"],
        summary: "Server-sent events of every sweep of the team (as /v1/sweeps/:id/events) and workers.changed; opens with a snapshot",
      },
    }, async (req, reply) => {
      const teamId = req.team.id;
      const snapshot = async () => ({ type: "snapshot", teamId, sweeps: await sweepOverview(deps.db, teamId, { limit: 100 }), workers: await deps.fleet.read(teamId) });
      const first = await snapshot();
      const release = deps.streams.acquire(teamId);
      const sse = openSse(reply);
      sse.send("snapshot", first);
      const offEvents = deps.events.subscribeTeam(teamId, (e) => {
        if (e === "reconnected") snapshot().then((s) => sse.send("snapshot", s), () => {});
        else if (e.teamId === teamId) sse.send(e.type, e);
      });
      const offFleet = deps.fleet.subscribe(teamId, (c) => sse.send(c.type, c));
      sse.onClose(() => {
        offEvents();
        offFleet();
        release();
      });
    });
  };
}
