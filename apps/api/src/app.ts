/**
 * buildApp() builds the HTTP API apart from listen(), so tests use inject() or a real socket as they need.
 * Everything under /v1 needs `Authorization: Bearer <api key>` (admin routes need the admin token); a team
 * sees only its own datasets, sweeps, trials and results: another team's ids answer 404.
 */
import Fastify, { type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { ApiConfig } from "@hypersweep/config";
import type { Db } from "@hypersweep/db";
import type { TrialQueue } from "@hypersweep/queue";
import { startReconciler } from "@hypersweep/queue/reconcile";
import type { AppDeps, V1Plugin } from "./deps.ts";
import { errorHandler } from "./errors.ts";
import { EventHub } from "./events.ts";
import { teamAuth } from "./plugins/auth.ts";
import { WorkerTokenCache, workerAuth } from "./plugins/worker-auth.ts";
import { workerNodeRoutes } from "./routes/worker-node.routes.ts";
import { workerStoreRoutes } from "./routes/worker-store.routes.ts";
import { workerCacheRoutes } from "./routes/worker-cache.routes.ts";
import { workerModelRoutes } from "./routes/worker-models.routes.ts";
import { StreamCounter, teamRateLimit } from "./limits.ts";
import { FleetWatches } from "./fleet-watch.ts";
import { eventRoutes } from "./routes/events.routes.ts";
import { adminRoutes } from "./routes/admin.routes.ts";
import { bestRoutes } from "./routes/best.routes.ts";
import { createMetrics } from "./metrics.ts";
import { datasetRoutes } from "./routes/datasets.routes.ts";
import { evaluationRoutes } from "./routes/evaluations.routes.ts";
import { healthRoutes } from "./routes/health.routes.ts";
import { sweepRoutes } from "./routes/sweeps.routes.ts";
import { trialRoutes } from "./routes/trials.routes.ts";
import { weightsRoutes } from "./routes/weights.routes.ts";
import { predictionRoutes } from "./routes/predictions.routes.ts";
import { reportRoutes } from "./routes/report.routes.ts";
import { workerRoutes } from "./routes/workers.routes.ts";
import { dashboardRoutes } from "./routes/dashboard.routes.ts";
import { webPlugin } from "./plugins/web.ts";
import { startModelPruner } from "./model-prune.ts";

export type { AppDeps, V1Plugin } from "./deps.ts";

export async function buildApp(
  base: { db: Db; queue: TrialQueue; config: ApiConfig },
  opts: { logger?: boolean | object; extraV1?: V1Plugin[] } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? { level: base.config.LOG_LEVEL },
    bodyLimit: base.config.HYPERSWEEP_BODY_LIMIT,
  });
  const events = new EventHub(base.config.DATABASE_URL, (m) => app.log.warn(m));
  const deps: AppDeps = {
    ...base,
    events,
    streams: new StreamCounter(base.config.HYPERSWEEP_MAX_STREAMS),
    fleet: new FleetWatches(base.db),
    metrics: createMetrics(base),
    workerTokens: new WorkerTokenCache(),
  };
  // Fastify hands a missing body to the validator as null; as undefined, a body schema's default applies.
  app.setValidatorCompiler((route) => {
    const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
    return route.httpPart === "body" ? (data: unknown) => validate(data ?? undefined) : validate;
  });
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  // An empty JSON body is no body (so a body schema's default applies); otherwise fastify's own JSON parser.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => (body === "" ? done(null, undefined) : json(req, body as string, done)));
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` }));

  app.addHook("onResponse", async (req, reply) => {
    deps.metrics.httpDuration.observe({ method: req.method, route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: "Hypersweep API", version: "0.1.0", description: "Hyperparameter random searches for medical image classifiers, as a service." },
      components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await webPlugin(app, base.config);
  await app.register(healthRoutes(deps));
  await app.register(
    async (v1) => {
      await v1.register(adminRoutes(deps), { prefix: "/admin" });
      // Worker nodes, authenticated by a worker token (never a team key): see plugins/worker-auth.ts.
      await v1.register(
        async (worker) => {
          await worker.register(workerAuth(deps.db, deps.workerTokens));
          await worker.register(workerNodeRoutes());
          await worker.register(workerStoreRoutes(deps));
          await worker.register(workerCacheRoutes(deps));
          await worker.register(workerModelRoutes(deps));
        },
        { prefix: "/worker" },
      );
      await v1.register(async (team) => {
        await team.register(teamAuth(deps.db));
        await teamRateLimit(team, deps.config.HYPERSWEEP_RATE_LIMIT);
        await team.register(sweepRoutes(deps));
        await team.register(eventRoutes(deps));
        await team.register(trialRoutes(deps));
        await team.register(predictionRoutes(deps));
        await team.register(reportRoutes(deps));
        await team.register(bestRoutes(deps));
        await team.register(workerRoutes(deps));
        await team.register(datasetRoutes(deps));
        await team.register(weightsRoutes(deps));
        await team.register(dashboardRoutes(deps));
        await team.register(evaluationRoutes(deps));
        for (const plugin of opts.extraV1 ?? []) await team.register(plugin(deps));
      });
    },
    { prefix: "/v1" },
  );

  events.start();
  // Workers that reach Postgres through this API run no reconciler: this process does, when configured.
  let stopReconciler = () => {};
  if (base.config.HYPERSWEEP_RECONCILE_MS > 0) {
    app.addHook("onReady", async () => {
      stopReconciler = startReconciler(base.db, base.queue, base.config.HYPERSWEEP_RECONCILE_MS, (m) => app.log.info(m));
    });
  }
  // Final models worker nodes uploaded to this API's data directory that no result names: deleted at start and
  // every HYPERSWEEP_MODEL_PRUNE_MS (whether or not this process runs the reconciler: the files are its own).
  let stopPruner = () => {};
  if (base.config.HYPERSWEEP_MODEL_PRUNE_MS > 0) {
    app.addHook("onReady", async () => {
      stopPruner = startModelPruner({
        db: base.db, dataDir: base.config.HYPERSWEEP_DATA_DIR, graceMs: base.config.HYPERSWEEP_MODEL_GRACE_MS, everyMs: base.config.HYPERSWEEP_MODEL_PRUNE_MS,
        log: (msg, extra) => app.log.info(extra, msg), summary: (m) => app.log.info(m),
      });
    });
  }
  app.addHook("onClose", async () => {
    stopReconciler();
    stopPruner();
    deps.fleet.stop();
    await events.close();
  });
  return app;
}
