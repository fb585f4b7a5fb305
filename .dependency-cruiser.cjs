/**
 * Import boundaries (run by `npm run lint`, part of `npm test`; test/lint-rules.test.ts plants a breach of each
 * rule in a copy of the tree and checks that the lint fails naming it):
 * - no import cycles anywhere;
 * - the API never reaches the trainer, the models or TensorFlow.js, directly or through another module;
 * - producer code (API, CLI, queue package) never imports the worker app;
 * - pure packages (core, metrics) import no I/O: no node built-ins but crypto, no npm package but zod;
 * - the trainer never reaches the database or the queue (db, queue, pg, @prisma, bullmq, ioredis);
 * - the CLI is a pure HTTP client: it never reaches the database, the trainer, the models or another app;
 * - SQL (pg, @prisma) only in packages/db (and tests and benchmarks that set up databases);
 * - apps are never imported by packages.
 * `node_modules` is in `doNotFollow` (its own imports are not cruised) but not excluded, so rules that name an
 * npm package see it. Named imports (BullMQ's Worker in producer code) are beyond a module graph: see
 * test/lint/named-imports.ts, run by `npm run lint` after this.
 */
// (^|/): an npm package may resolve outside the cruised tree (a linked node_modules), e.g. ../../node_modules/pg/….
const npm = (...names) => names.map((n) => `(^|/)node_modules/${n.replace(/[.]/g, "\\.")}/`);

const TFJS = [...npm("@tensorflow"), "^packages/(trainer|models)/", "^packages/data/src/tf/"];
const SQL = npm("pg", "@prisma", "pg-pool", "pg-protocol", "postgres");
const QUEUE = npm("bullmq", "ioredis");

module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: { pathNot: "(^|/)node_modules/" }, to: { circular: true } },
    {
      name: "api-no-training",
      severity: "error",
      comment: "The API never reaches the trainer, the models, or tfjs (not even through another package).",
      from: { path: "^apps/api/" },
      to: { path: TFJS, reachable: true },
    },
    {
      name: "producer-no-consumer",
      severity: "error",
      comment: "Producer code never imports the consumer side.",
      from: { path: ["^apps/api/", "^apps/cli/", "^packages/queue/"] },
      to: { path: "^apps/worker/" },
    },
    {
      name: "pure-packages-no-io",
      severity: "error",
      comment: "core and metrics are pure: no other package but each other, no npm package but zod.",
      from: { path: "^packages/(core|metrics)/src/" },
      to: {
        dependencyTypesNot: ["core"],
        pathNot: ["^packages/(core|metrics)/src/", ...npm("zod")],
      },
    },
    {
      name: "pure-packages-no-node-io",
      severity: "error",
      comment: "core and metrics use no node built-in but crypto.",
      from: { path: "^packages/(core|metrics)/src/" },
      to: { dependencyTypes: ["core"], pathNot: ["^(node:)?crypto$"] },
    },
    {
      name: "trainer-no-orchestration",
      severity: "error",
      comment: "The trainer speaks its contract on stdin/stdout; it never reaches the database or the queue.",
      from: { path: "^packages/trainer/" },
      to: { path: ["^packages/(db|queue)/", "^apps/", ...SQL, ...QUEUE], reachable: true },
    },
    {
      name: "cli-pure-http-client",
      severity: "error",
      comment: "The CLI speaks the HTTP API only: no database, trainer, models, tfjs, queue, or other app.",
      from: { path: "^apps/cli/" },
      to: { path: ["^packages/(db|queue|trainer|models)/", "^apps/(api|worker|demo|dashboard)/", ...SQL, ...QUEUE, ...TFJS], reachable: true },
    },
    {
      name: "sql-only-in-db",
      severity: "error",
      comment: "SQL lives in packages/db; tests and benchmarks may reach Postgres directly to set up and measure.",
      from: { path: "^(apps|packages)/", pathNot: ["^packages/db/", "^packages/[^/]+/test/", "^apps/[^/]+/test/"] },
      to: { path: SQL },
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
    exclude: { path: ["packages/db/src/generated"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
