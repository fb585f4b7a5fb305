/**
 * What browsers get: the dashboard (apps/dashboard, built by Vite) as static files at `/`, under a strict
 * Content-Security-Policy, and CORS for dashboards hosted elsewhere when HYPERSWEEP_CORS_ORIGINS names them
 * (off by default). The API itself stays under /v1.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import cors from "@fastify/cors";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { ApiConfig } from "@hypersweep/config";

/** The default build output of apps/dashboard, relative to this file. */
export const DEFAULT_DASHBOARD_DIR = resolve(import.meta.dirname, "../../../dashboard/dist");

/**
 * Scripts and styles only from this origin (no inline script, no eval), data only from this origin, no
 * plugins, no framing, no <base>, no form posts elsewhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

export async function webPlugin(app: FastifyInstance, config: ApiConfig): Promise<void> {
  if (config.HYPERSWEEP_CORS_ORIGINS.length) {
    await app.register(cors, {
      origin: config.HYPERSWEEP_CORS_ORIGINS,
      methods: ["GET", "HEAD", "POST"],
      allowedHeaders: ["authorization", "content-type", "last-event-id"],
      maxAge: 600,
    });
  }
  const root = resolve(config.HYPERSWEEP_DASHBOARD_DIR ?? DEFAULT_DASHBOARD_DIR);
  if (!existsSync(join(root, "index.html"))) {
    app.get("/", { schema: { hide: true } }, async (_req, reply) =>
      reply.status(503).type("text/plain").send(`The dashboard is not built (no ${join(root, "index.html")}): run \`npm run build:dashboard\`.\n`),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    decorateReply: false,
    index: ["index.html"],
    setHeaders(res, path) {
      res.header("content-security-policy", DASHBOARD_CSP);
      res.header("x-content-type-options", "nosniff");
      res.header("referrer-policy", "no-referrer");
      // Hashed asset names never change content; the page itself is always revalidated.
      res.header("cache-control", path.includes(`${"/assets/"}`) ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
}
