export { buildApp, type AppDeps, type V1Plugin } from "./app.ts";
export { startApi } from "./main.ts";
export { submitSweep, CreateSweepBody } from "./sweep.service.ts";
export { HttpError, badRequest } from "./errors.ts";
