/**
 * A team's share of the fleet: its weight (fair share between teams), its quotas (trials running at once,
 * trials waiting), and what it holds now. Set by an admin; read by the team (GET /v1/teams/me) and by the
 * fair claim (fair-claim.repository.ts) and the submit check (createSweep).
 */
import type { Db } from "./client.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

export interface TeamShareUpdate {
  weight?: number;
  /** null removes the quota. */
  maxRunning?: number | null;
  maxWaiting?: number | null;
}

export interface TeamShare {
  id: string;
  name: string;
  weight: number;
  maxRunning: number | null;
  maxWaiting: number | null;
  running: number;
  waiting: number;
}

const SHARE = `SELECT tm.id::text, tm.name, tm.weight, tm.max_running AS "maxRunning", tm.max_waiting AS "maxWaiting",
         (SELECT count(*) FROM trials r WHERE r.team_id = tm.id AND r.status = 'running')::int AS running,
         (SELECT count(*) FROM trials q WHERE q.team_id = tm.id AND q.status = 'queued')::int AS waiting
  FROM teams tm`;

export async function teamShare(db: Db, teamId: string): Promise<TeamShare> {
  const { rows } = await db.pool.query<TeamShare>(`${SHARE} WHERE tm.id = $1`, [teamId]);
  if (!rows[0]) throw new NotFoundError("team", teamId);
  return rows[0];
}

/** Sets a team's weight and quotas (fields left out keep their value). Lowering a running quota stops nothing: it bounds new starts. */
export async function updateTeamShare(db: Db, teamId: string, u: TeamShareUpdate): Promise<TeamShare> {
  const { rowCount } = await db.pool.query(
    `UPDATE teams SET weight = CASE WHEN $2 THEN $3::float8 ELSE weight END,
                      max_running = CASE WHEN $4 THEN $5::int ELSE max_running END,
                      max_waiting = CASE WHEN $6 THEN $7::int ELSE max_waiting END
     WHERE id = $1`,
    [teamId, u.weight !== undefined, u.weight ?? null, u.maxRunning !== undefined, u.maxRunning ?? null, u.maxWaiting !== undefined, u.maxWaiting ?? null],
  );
  if (!rowCount) throw new NotFoundError("team", teamId);
  return teamShare(db, teamId);
}

/**
 * Sets a sweep's priority (higher runs first within its team) and moves its waiting trials accordingly. A
 * finished or cancelled sweep has nothing waiting: 409.
 */
export async function setSweepPriority(db: Db, teamId: string, sweepId: string, priority: number): Promise<{ priority: number; waiting: number }> {
  const { rows } = await db.pool.query<{ status: string | null; waiting: number }>(
    `WITH s AS (SELECT id, status::text AS status FROM sweeps WHERE id = $1 AND team_id = $2 FOR UPDATE),
     u AS (UPDATE sweeps SET priority = $3 FROM s WHERE sweeps.id = s.id AND s.status IN ('queued', 'running') RETURNING sweeps.id),
     t AS (UPDATE trials SET priority = $3 WHERE sweep_id IN (SELECT id FROM u) AND status = 'queued' RETURNING id)
     SELECT (SELECT status FROM s) AS status, (SELECT count(*) FROM t)::int AS waiting`,
    [sweepId, teamId, priority],
  );
  const r = rows[0];
  if (!r?.status) throw new NotFoundError("sweep", sweepId);
  if (r.status !== "queued" && r.status !== "running") throw new ConflictError(`sweep ${sweepId} is ${r.status}: nothing of it waits, so its priority cannot change`);
  return { priority, waiting: r.waiting };
}
