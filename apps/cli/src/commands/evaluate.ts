/**
 * `hypersweep evaluate <trial>`: score a final model on another dataset's test set (cross-dataset, the paper's
 * Tables 15–16) or on the multiclass test set (`--binarise`, Table 17), and `hypersweep evaluations`: list them.
 * A pure HTTP client of POST/GET /v1/evaluations.
 */
import Table from "cli-table3";
import { Command, InvalidArgumentError } from "commander";
import { HypersweepClient } from "../client.ts";
import { withInterval } from "../render.ts";

const out = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DONE = ["succeeded", "failed", "cancelled"];
const METRICS = ["precision", "recall", "f1", "accuracy", "auc"];

function client(cmd: Command): HypersweepClient {
  const o = cmd.optsWithGlobals() as { url: string; apiKey?: string };
  return new HypersweepClient({ url: o.url, apiKey: o.apiKey });
}

/** "equal", or "covid19=1,other=2": relative weights per class. */
export function parseBalance(v: string): "equal" | Record<string, number> {
  if (v === "equal") return v;
  const out: Record<string, number> = {};
  for (const part of v.split(",")) {
    const [name, w] = part.split("=");
    const n = Number(w);
    if (!name || !(n > 0)) throw new InvalidArgumentError(`expected "equal" or class=weight pairs such as covid19=1,other=1; got "${part}"`);
    out[name.trim()] = n;
  }
  return out;
}

/** What was removed and sampled, in one line. */
export function selectionLine(e: any): string {
  const s = e.selection ?? {};
  const removed = s.removed ? `${s.removed.total} removed as seen by the model (${s.removed.training} training, ${s.removed.validation} validation)` : "";
  const scored = s.scored ? Object.entries(s.scored).map(([c, n]) => `${c} ${n}`).join(", ") : "";
  const balance = s.balance ? `, sampled to ${Object.entries(s.balance).map(([c, w]) => `${c} ${(Number(w) * 100).toFixed(0)}%`).join(" / ")} (seed ${s.seed})` : "";
  return `${s.testRows ?? "?"} test rows, ${s.duplicates ?? 0} duplicates, ${removed}${balance}; scored: ${scored}`;
}

/** The evaluation's scores as a table (the binarised comparison as a second row). */
export function evaluationTable(e: any): string {
  const t = new Table({ head: ["model", "n", ...METRICS] });
  const r = e.result;
  if (r) t.push([`${e.architecture} ${e.scenarioKey}${e.kind === "binarised" ? " (binary model)" : ""}`, r.n, ...METRICS.map((m) => withInterval(r, m))]);
  const c = r?.comparison;
  if (c) t.push([`${e.architecture} multiclass read as COVID-19 vs rest`, c.n, ...METRICS.map((m) => withInterval(c, m))]);
  return t.toString();
}

async function follow(c: HypersweepClient, id: string): Promise<any> {
  let last = "";
  for (;;) {
    const e = await c.request("GET", `/v1/evaluations/${id}`);
    const line = `${e.status}${e.attempts > 1 ? ` (attempt ${e.attempts})` : ""}`;
    if (line !== last) out(`evaluation ${id}: ${line}`);
    last = line;
    if (DONE.includes(e.status)) return e;
    await sleep(1000);
  }
}

export function evaluateCommand(): Command {
  return new Command("evaluate")
    .description("score a final model on another dataset's test set (seen images removed), or --binarise on the multiclass test set")
    .argument("<trial>", "the final trial whose model is scored")
    .option("--dataset <id|name>", "the dataset to score on (its newest version)")
    .option("--version <id>", "a dataset version id instead of --dataset")
    .option("--balance <weights>", 'sample to a class balance: "equal" or class=weight pairs, e.g. covid19=1,other=1', parseBalance)
    .option("--seed <n>", "seed of the balance sampling", (v) => Number(v))
    .option("--binarise", "the binary model on the multiclass test set, next to the multiclass model read as COVID-19 vs rest")
    .option("--compare <trial>", "with --binarise: the multiclass final trial (default: the newest of the architecture)")
    .option("--watch", "wait for the result and print it")
    .action(async (trial: string, o, cmd: Command) => {
      const c = client(cmd);
      const body = {
        trial,
        ...(o.dataset ? { dataset: o.dataset } : {}),
        ...(o.version ? { datasetVersion: o.version } : {}),
        ...(o.balance ? { classBalance: o.balance } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.binarise ? { binarise: true } : {}),
        ...(o.compare ? { compareTrial: o.compare } : {}),
      };
      const e = await c.request("POST", "/v1/evaluations", body);
      out(`evaluation ${e.id} (${e.kind}) on ${e.dataset}${e.enqueued === false ? " (queue unavailable: it will be enqueued when it returns)" : ""}`);
      out(selectionLine(e));
      if (!o.watch) return;
      const done = await follow(c, e.id);
      if (done.status !== "succeeded") {
        out(`evaluation ${done.status}: ${done.error ?? ""}`);
        process.exitCode = 1;
        return;
      }
      out(evaluationTable(done));
    });
}

export function evaluationsCommand(): Command {
  return new Command("evaluations")
    .description("list your evaluations (of one trial with --trial)")
    .option("--trial <id>")
    .action(async (o, cmd: Command) => {
      const q = o.trial ? `?${new URLSearchParams({ trial: o.trial })}` : "";
      const { evaluations } = await client(cmd).request("GET", `/v1/evaluations${q}`);
      for (const e of evaluations) {
        const auc = e.result?.metrics?.auc;
        out(`${e.id}  ${e.status.padEnd(9)}  ${e.kind.padEnd(13)}  ${e.architecture} ${e.scenarioKey} on ${e.dataset}  n ${e.images}  AUC ${typeof auc === "number" ? auc.toFixed(3) : "–"}`);
      }
    });
}
