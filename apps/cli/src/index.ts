export { buildCli } from "./main.ts";
export { HypersweepClient, ApiError } from "./client.ts";
export { watchSweep } from "./commands/watch.ts";
