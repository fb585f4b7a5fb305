/**
 * `hypersweep report <sweep>`: the sweep's report as the API renders it (GET /v1/sweeps/:id/report), in
 * Markdown (default), HTML or CSV, to stdout or a file.
 */
import { writeFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { ApiError, HypersweepClient } from "../client.ts";

export const REPORT_FORMATS = ["md", "html", "csv"] as const;

/** The report text (throws ApiError with the API's message when the sweep is not found or the format is refused). */
export async function fetchReport(client: HypersweepClient, sweepId: string, format: (typeof REPORT_FORMATS)[number] = "md"): Promise<string> {
  const text = await client.request<string>("GET", `/v1/sweeps/${encodeURIComponent(sweepId)}/report?format=${format}`);
  if (typeof text !== "string") throw new ApiError(0, "BAD_ANSWER", "the API did not answer the report with text");
  return text;
}

export function reportCommand(client: (cmd: Command) => HypersweepClient): Command {
  return new Command("report")
    .description("a sweep's report: search grid, final models' test metrics with 95% intervals, confusion matrices, further evaluations")
    .argument("<sweepId>")
    .addOption(new Option("--format <format>", "md, html or csv").choices(REPORT_FORMATS).default("md"))
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (id: string, o: { format: (typeof REPORT_FORMATS)[number]; output?: string }, cmd: Command) => {
      const text = await fetchReport(client(cmd), id, o.format);
      if (o.output) {
        await writeFile(o.output, text);
        process.stderr.write(`report written to ${o.output} (${text.length} bytes, ${o.format})\n`);
      } else process.stdout.write(text);
    });
}
