#!/usr/bin/env node
/** The `hypersweep` command: a pure HTTP client of the API (the demo, which runs a whole stack, is apps/demo). */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { ApiError, HypersweepClient } from "./client.ts";
import { leaderboardTable, trialsTable, withInterval, workerTokensTable } from "./render.ts";
import { datasetsCommand } from "./commands/datasets.ts";
import { evaluateCommand, evaluationsCommand } from "./commands/evaluate.ts";
import { watchSweep } from "./commands/watch.ts";
import { pretrainedFlags, weightsCommand } from "./commands/weights.ts";
import { EXIT_CODES_HELP, exitCodeFor, throwOnUsageErrors, watchExit } from "./exit-codes.ts";
import { reportCommand } from "./commands/report.ts";
import { priorityCommand, setTeamCommand, teamCommand } from "./commands/share.ts";

function client(cmd: Command): HypersweepClient {
  const o = cmd.optsWithGlobals() as { url: string; apiKey?: string };
  return new HypersweepClient({ url: o.url, apiKey: o.apiKey });
}

const out = (v: unknown): void => void process.stdout.write(`${typeof v === "string" ? v : JSON.stringify(v, null, 2)}\n`);
/** Follows a sweep to its end; a sweep that did not succeed sets exit code 5 and says why on stderr. */
async function follow(c: HypersweepClient, id: string): Promise<void> {
  const status = await watchSweep(c, id);
  out(`finished: ${status}`);
  if (status === "failed") {
    const s = await c.request("GET", `/v1/sweeps/${id}`);
    if (s.error) process.stderr.write(`sweep ${id} failed: ${s.error}\n`);
  }
  process.exitCode = watchExit(status);
}
const JSON_HELP = "print the API's answer as JSON instead of a table";
const METRIC_HELP = "rank sweeps decided by this selection metric (auc, f1, macroF1, accuracy, macroAuc, valLoss; default: the paper's)";
const TRAINER_HELP = "only trials trained by this trainer (default: either)";

export function buildCli(): Command {
  const program = new Command("hypersweep")
    .description("Hyperparameter random searches for medical image classifiers")
    .addOption(new Option("--url <url>", "API address").env("HYPERSWEEP_URL").default("http://127.0.0.1:8080"))
    .addOption(new Option("--api-key <key>", "your team's API key").env("HYPERSWEEP_API_KEY"))
    .showHelpAfterError()
    .addHelpText("after", EXIT_CODES_HELP);

  program
    .command("submit")
    .description("submit a sweep from a JSON file (or - for stdin), or from flags")
    .argument("[file]", "sweep body as JSON")
    .option("--dataset <id|name>")
    .option("--modality <ct|radiograph>", "", "ct")
    .option("--task <binary|multiclass>", "", "binary")
    .option("--arch <name...>", "architectures", ["resnet18"])
    .option("--seed <n>", "plan seed", (v) => Number(v))
    .option("--epochs <n>", "search epochs per trial", (v) => Number(v))
    .option("--pretrained <arch=name...>", "start architectures from imported weights, e.g. resnet18=imagenet")
    .option("--trainer <tfjs|pytorch>", "the trainer that trains the sweep (default: the server's)")
    .option("--priority <n>", "within your team, higher runs first (default 0)", (v) => Number(v))
    .option("--watch", "follow the sweep until it ends")
    .action(async (file: string | undefined, o, cmd: Command) => {
      const overrides = { ...(o.epochs ? { searchEpochs: o.epochs } : {}), ...(o.pretrained ? { pretrained: pretrainedFlags(o.pretrained) } : {}) };
      const body = file
        ? JSON.parse(file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8"))
        : { dataset: o.dataset, scenario: { modality: o.modality, task: o.task }, architectures: o.arch, ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.priority !== undefined ? { priority: o.priority } : {}), ...(o.trainer ? { trainer: o.trainer } : {}), ...(Object.keys(overrides).length ? { overrides } : {}) };
      const c = client(cmd);
      // One key for this submission: sent again after a lost answer, it still creates one sweep.
      const s = await c.requestIdempotent("POST", "/v1/sweeps", body, randomUUID(), {
        onRetry: (err, n) => process.stderr.write(`${err.message}; sending the same submission again (${n + 1} of 5)\n`),
      });
      out(`sweep ${s.id}: ${s.trialCount} trials, plan ${s.planHash}${s.enqueued ? "" : " (queue unavailable: trials will be enqueued when it returns)"}`);
      if (o.watch) await follow(c, s.id);
    });

  program.command("watch").argument("<sweepId>").description("follow a sweep with progress bars").action(async (id: string, _o, cmd: Command) => {
    await follow(client(cmd), id);
  });

  program.command("sweeps").description("list your sweeps").option("--json", JSON_HELP).action(async (o, cmd: Command) => {
    const r = await client(cmd).request("GET", "/v1/sweeps");
    if (o.json) return out(r);
    const { sweeps } = r;
    for (const s of sweeps) out(`${s.id}  ${s.status.padEnd(9)}  ${s.scenarioKey.padEnd(18)} ${s.trialCount} trials  ${s.name ?? ""}${s.error ? `  (${s.error})` : ""}`);
  });

  program.command("status").argument("<sweepId>").description("a sweep's status and its trials").option("--json", JSON_HELP).action(async (id: string, o, cmd: Command) => {
    const c = client(cmd);
    const s = await c.request("GET", `/v1/sweeps/${id}`);
    const { trials } = await c.request("GET", `/v1/sweeps/${id}/trials`);
    if (o.json) return out({ ...s, trials });
    const stopped = s.stages?.search?.stoppedEarly ? ` (${s.stages.search.stoppedEarly} search trials stopped early)` : "";
    out(`${s.id} ${s.status}: ${JSON.stringify(s.counts)}${stopped} progress ${(s.progress.fraction * 100).toFixed(0)}% ETA ${s.etaSeconds ?? "–"} s`);
    if (s.error) out(`failed: ${s.error}`);
    out(trialsTable(trials, s.spec?.selectionMetric));
  });

  program
    .command("final")
    .argument("<sweepId>")
    .description("retrain each architecture's winner to convergence and score it on the test set")
    .option("--watch", "follow the sweep until the final trainings end")
    .action(async (id: string, o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.request("POST", `/v1/sweeps/${id}/final`, {});
      for (const t of r.trials) out(`final training ${t.id} (${t.architecture})${t.created ? "" : " already exists"}`);
      for (const k of r.skipped) out(`skipped ${k.architecture}: ${k.reason}`);
      if (o.watch) await follow(c, id);
    });

  program.command("cancel").argument("<sweepId>").description("cancel a sweep: queued trials never start, running ones stop").action(async (id: string, _o, cmd: Command) => {
    const s = await client(cmd).request("POST", `/v1/sweeps/${id}/cancel`);
    out(`${s.id} ${s.status}`);
  });

  program
    .command("best")
    .description("the winning configuration for a dataset × scenario × architecture")
    .requiredOption("--dataset <id|name>")
    .requiredOption("--scenario <key>", "e.g. ct/binary")
    .requiredOption("--arch <name>")
    .option("--metric <name>", METRIC_HELP)
    .option("--trainer <tfjs|pytorch>", TRAINER_HELP)
    .option("--json", JSON_HELP)
    .action(async (o, cmd: Command) => {
      const r = await client(cmd).request("GET", `/v1/best?${new URLSearchParams({ dataset: o.dataset, scenario: o.scenario, architecture: o.arch, ...(o.metric ? { metric: o.metric } : {}), ...(o.trainer ? { trainer: o.trainer } : {}) })}`);
      if (o.json) return out(r);
      out(r.winner ? leaderboardTable([{ ...r.winner, decidedBy: r.decidedBy }]) : r.reason);
      const test = r.winner?.final?.metrics?.test;
      if (test) out(`final training, test set (n = ${test.n ?? "?"}): AUC ${withInterval(test, "auc")}, F1 ${withInterval(test, "f1")}`);
    });

  program.command("leaderboard").description("the best configuration per scenario × architecture of a dataset").requiredOption("--dataset <id|name>").option("--metric <name>", METRIC_HELP).option("--trainer <tfjs|pytorch>", TRAINER_HELP).option("--json", JSON_HELP).action(async (o, cmd: Command) => {
    const r = await client(cmd).request("GET", `/v1/leaderboard?${new URLSearchParams({ dataset: o.dataset, ...(o.metric ? { metric: o.metric } : {}), ...(o.trainer ? { trainer: o.trainer } : {}) })}`);
    if (o.json) return out(r);
    out(leaderboardTable(r.rows));
  });

  const admin = program.command("admin").description("teams and keys (needs the admin token)").addOption(new Option("--admin-token <token>").env("HYPERSWEEP_ADMIN_TOKEN").makeOptionMandatory());
  admin.command("create-team").argument("<name>").action(async (name: string, _o, cmd: Command) => {
    const o = cmd.optsWithGlobals() as { url: string; adminToken: string };
    const r = await new HypersweepClient({ url: o.url, apiKey: o.adminToken }).request("POST", "/v1/admin/teams", { name });
    out(`team ${r.team.name} (${r.team.id})\nAPI key (shown once, store it now): ${r.apiKey}`);
  });
  const adminClient = (cmd: Command) => {
    const o = cmd.optsWithGlobals() as { url: string; adminToken: string };
    return new HypersweepClient({ url: o.url, apiKey: o.adminToken });
  };
  admin.command("create-worker-token").description("a token for worker nodes (HYPERSWEEP_WORKER_TOKEN), not for a team").argument("<name>").action(async (name: string, _o, cmd: Command) => {
    const r = await adminClient(cmd).request("POST", "/v1/admin/worker-tokens", { name });
    out(`worker token ${r.name} (${r.id})\nworker token (shown once, store it now): ${r.token}`);
  });
  admin.command("worker-tokens").description("every worker token: name, created, last used, revoked").option("--json", JSON_HELP).action(async (o: { json?: boolean }, cmd: Command) => {
    const r = await adminClient(cmd).request("GET", "/v1/admin/worker-tokens");
    if (o.json) return out(r);
    out(workerTokensTable(r.workerTokens));
  });
  admin.command("revoke-worker-token").argument("<id>").action(async (id: string, _o, cmd: Command) => {
    const r = await adminClient(cmd).request("DELETE", `/v1/admin/worker-tokens/${encodeURIComponent(id)}`);
    out(`worker token ${r.workerToken.name} (${r.workerToken.id}) revoked at ${r.workerToken.revokedAt}`);
  });

  admin
    .command("prune-models")
    .description("delete stored final models no trial references, and unfinished uploads, older than the API's HYPERSWEEP_MODEL_GRACE_MS")
    .option("--json", JSON_HELP)
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await adminClient(cmd).request("POST", "/v1/admin/models/prune");
      if (o.json) return out(r);
      out(`removed ${r.removed.models} unreferenced model(s), ${r.removed.partial} without a manifest, ${r.removed.uploads} unfinished upload(s): ${r.removed.bytes} bytes`);
      out(`kept ${r.kept.referenced} referenced model(s), ${r.kept.young} younger than ${r.graceMs} ms: ${r.kept.bytes} bytes`);
      for (const id of r.removed.ids) out(`  removed ${id}`);
    });

  admin.addCommand(setTeamCommand(adminClient));

  program.addCommand(teamCommand(client));
  program.addCommand(priorityCommand(client));
  program.addCommand(datasetsCommand());
  program.addCommand(weightsCommand());
  program.addCommand(reportCommand(client));
  program.addCommand(evaluateCommand());
  program.addCommand(evaluationsCommand());

  return program;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const program = buildCli();
  throwOnUsageErrors(program);
  program.parseAsync(process.argv).catch((err) => {
    // Commander has already printed its own usage errors (and --help).
    if (!(err instanceof CommanderError)) process.stderr.write(`${err instanceof ApiError ? err.describe() : err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = exitCodeFor(err);
  });
}
