/**
 * Import boundaries (run by `npm run lint`, part of `npm test`):
 * - no import cycles anywhere;
 * - the API never reaches the trainer, the models or TensorFlow.js (nor the tfjs side of packages/data);
 * - producer code (API, CLI, queue package) never imports the worker app;
 * - pure packages (core, metrics) import no I/O: no node built-ins but crypto, no database, queue or tfjs;
 * - apps are never imported by packages.
 */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
    {
      name: "api-no-training",
      severity: "error",
      comment: "The API never imports the trainer, the models, or tfjs.",
      from: { path: "^apps/api" },
      to: { path: ["^packages/trainer", "^packages/models", "@tensorflow", "^packages/data/src/tf"] },
    },
    {
      name: "producer-no-consumer",
      severity: "error",
      comment: "Producer code never imports the consumer side.",
      from: { path: ["^apps/api", "^apps/cli", "^packages/queue"] },
      to: { path: "^apps/worker" },
    },
    {
      name: "pure-packages-no-io",
      severity: "error",
      comment: "core and metrics are pure: no I/O, no database, queue or tfjs.",
      from: { path: "^packages/(core|metrics)/src" },
      to: {
        path: ["^packages/(db|queue|data|models|trainer)", "^apps/", "@tensorflow", "bullmq", "ioredis", "pg", "@prisma", "sharp", "fastify"],
      },
    },
    {
      name: "pure-packages-no-node-io",
      severity: "error",
      from: { path: "^packages/(core|metrics)/src" },
      to: { dependencyTypes: ["core"], pathNot: ["^(node:)?crypto$"] },
    },
    {
      name: "packages-not-apps",
      severity: "error",
      from: { path: "^packages/" },
      to: { path: "^apps/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: ["node_modules", "packages/db/src/generated"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
