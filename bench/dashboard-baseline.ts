/**
 * The "before" side of bench/dashboard.ts: the sweep page of another git revision (built from its sources into
 * bench/out/), and the API answers as they were before the lean loading path, mounted beside the current ones
 * (under /v1/baseline/...). A browser page of the baseline is routed to them, so both sides run in one process
 * against one database, alternately.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Page } from "playwright-core";
import { listTrials, sweepEpochsJson } from "@hypersweep/db";
import { buildDashboard } from "@hypersweep/dashboard";
import type { V1Plugin } from "../apps/api/src/app.ts";

const ROOT = resolve(import.meta.dirname, "..");

/** Builds the dashboard of `ref` (e.g. b091dca, the last revision before the lean loading path); returns its dist/. */
export async function buildBaselinePage(ref: string): Promise<string> {
  const commit = execFileSync("git", ["rev-parse", "--short", ref], { cwd: ROOT, encoding: "utf8" }).trim();
  const dir = join(ROOT, "bench/out/dashboard-baseline", commit);
  const dist = join(dir, "dist");
  if (existsSync(join(dist, "index.html"))) return dist;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The sources only (their imports resolve to this checkout's node_modules, found from bench/out upwards).
  execFileSync("sh", ["-c", `git archive ${commit} apps/dashboard/web | tar -x -C '${dir}'`], { cwd: ROOT });
  await buildDashboard(dist, join(dir, "apps/dashboard/web"));
  return dist;
}

/** The answers as they were: trials read row by row through Prisma and serialised by fastify. */
export const baselineRoutes: V1Plugin = (deps) => async (app: FastifyInstance) => {
  app.get<{ Params: { id: string } }>("/baseline/sweeps/:id/trials", async (req) => ({ trials: await listTrials(deps.db, req.team.id, req.params.id) }));
  app.get<{ Params: { id: string } }>("/baseline/sweeps/:id/epochs", async (req, reply) =>
    reply.type("application/json; charset=utf-8").send(await sweepEpochsJson(deps.db, req.team.id, req.params.id)),
  );
};

/** Sends a baseline page's requests for a sweep's trials and epochs to the baseline answers. */
export async function routeToBaseline(page: Page): Promise<void> {
  await page.route(/\/v1\/sweeps\/[\w-]+\/(trials|epochs)$/, (route) => route.continue({ url: route.request().url().replace("/v1/sweeps/", "/v1/baseline/sweeps/") }));
}

/** The same interception on the current page, so that both sides pay for it alike. */
export async function routeAsIs(page: Page): Promise<void> {
  await page.route(/\/v1\/sweeps\/[\w-]+\/(trials|epochs)$/, (route) => route.continue());
}
