export { buildCli } from "./main.ts";
export { HypersweepClient, ApiError } from "./client.ts";
export { watchSweep } from "./commands/watch.ts";
export { importViaApi, summaryTable, type ImportViaApiOptions } from "./commands/datasets.ts";
export { leaderboardTable, trialsTable, withInterval } from "./render.ts";
export { fetchReport } from "./commands/report.ts";
