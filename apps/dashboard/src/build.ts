/**
 * Builds the dashboard (web/ → dist/) with Vite. `ensureDashboardBuilt()` builds only when dist/ is missing or
 * older than a source file, so the demo, the tests and the benchmark can all call it and a fresh checkout
 * builds once (a few seconds).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const DASHBOARD_ROOT = resolve(import.meta.dirname, "..");
export const DASHBOARD_WEB = join(DASHBOARD_ROOT, "web");
export const DASHBOARD_DIST = join(DASHBOARD_ROOT, "dist");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when dist/ holds a build at least as new as every source file (and this build script). */
export function dashboardIsBuilt(): boolean {
  const index = join(DASHBOARD_DIST, "index.html");
  if (!existsSync(index)) return false;
  const sources = Math.max(newestMtime(DASHBOARD_WEB), statSync(import.meta.filename).mtimeMs);
  return statSync(index).mtimeMs >= sources;
}

/** Builds `root` (the page's sources; another checkout's for a side-by-side benchmark) into `outDir`. */
export async function buildDashboard(outDir = DASHBOARD_DIST, root = DASHBOARD_WEB): Promise<void> {
  const { build } = await import("vite");
  await build({
    root,
    configFile: false,
    logLevel: "warn",
    base: "/",
    build: {
      outDir,
      emptyOutDir: true,
      // No inline module-preload polyfill: the page runs under `script-src 'self'`.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 1500,
      target: "es2022",
      minify: process.env.HS_NO_MINIFY ? false : undefined,
    },
  });
}

/** Builds the dashboard unless an up-to-date build is there; returns whether it built. */
export async function ensureDashboardBuilt(): Promise<boolean> {
  if (dashboardIsBuilt()) return false;
  await buildDashboard();
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const force = process.argv.includes("--force");
  const started = Date.now();
  (force ? buildDashboard().then(() => true) : ensureDashboardBuilt()).then(
    (built) => console.log(built ? `dashboard built in ${Date.now() - started} ms: ${DASHBOARD_DIST}` : `dashboard is up to date: ${DASHBOARD_DIST}`),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
