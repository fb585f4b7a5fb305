/**
 * Fair share from the command line: `hypersweep team` (the key's team: weight, quotas, running and waiting),
 * `hypersweep priority <sweep> <n>`, and `hypersweep admin set-team <id> --weight --max-running --max-waiting`.
 */
import { Command, InvalidArgumentError } from "commander";
import type { HypersweepClient } from "../client.ts";

const out = (v: unknown): void => void process.stdout.write(`${typeof v === "string" ? v : JSON.stringify(v, null, 2)}\n`);

const int = (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError("an integer");
  return Number(v);
};
/** A quota: a count, or `none` to remove it (kept as the word: Commander turns a parsed null into ""). */
const quota = (v: string): number | "none" => (v === "none" ? "none" : int(v));
const quotaValue = (v: number | "none") => (v === "none" ? null : v);

export interface TeamShareView {
  team: { id: string; name: string };
  weight: number;
  quotas: { maxRunning: number | null; maxWaiting: number; maxWaitingFrom: string };
  running: number;
  waiting: number;
}

export function shareText(r: TeamShareView): string {
  const waitingFrom = r.quotas.maxWaitingFrom === "team" ? "" : ` (${r.quotas.maxWaitingFrom})`;
  return [
    `team ${r.team.name} (${r.team.id}), weight ${r.weight}`,
    `running ${r.running} of ${r.quotas.maxRunning ?? "no limit"}`,
    `waiting ${r.waiting} of ${r.quotas.maxWaiting}${waitingFrom}`,
  ].join("\n");
}

export function teamCommand(client: (cmd: Command) => HypersweepClient): Command {
  return new Command("team")
    .description("your team's fair-share weight, quotas, and trials running and waiting now")
    .option("--json", "print the API's answer as JSON")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await client(cmd).request<TeamShareView>("GET", "/v1/teams/me");
      out(o.json ? r : shareText(r));
    });
}

export function priorityCommand(client: (cmd: Command) => HypersweepClient): Command {
  return new Command("priority")
    .description("change a waiting sweep's priority (higher runs first within your team)")
    .argument("<sweepId>")
    .argument("<priority>", "an integer from -1000 to 1000", int)
    .action(async (id: string, priority: number, _o, cmd: Command) => {
      const s = await client(cmd).request("PATCH", `/v1/sweeps/${encodeURIComponent(id)}`, { priority });
      out(`${s.id} priority ${s.priority}`);
    });
}

export function setTeamCommand(adminClient: (cmd: Command) => HypersweepClient): Command {
  return new Command("set-team")
    .description("a team's fair-share weight and quotas (none removes a quota)")
    .argument("<teamId>")
    .option("--weight <w>", "relative share while several teams wait (default 1)", (v) => Number(v))
    .option("--max-running <n|none>", "trials of the team running at once", quota)
    .option("--max-waiting <n|none>", "trials of the team waiting at once (else HYPERSWEEP_MAX_QUEUED_TRIALS)", quota)
    .action(async (id: string, o: { weight?: number; maxRunning?: number | "none"; maxWaiting?: number | "none" }, cmd: Command) => {
      const body = {
        ...(o.weight !== undefined ? { weight: o.weight } : {}),
        ...(o.maxRunning !== undefined ? { maxRunning: quotaValue(o.maxRunning) } : {}),
        ...(o.maxWaiting !== undefined ? { maxWaiting: quotaValue(o.maxWaiting) } : {}),
      };
      const r = await adminClient(cmd).request("PATCH", `/v1/admin/teams/${encodeURIComponent(id)}`, body);
      const t = r.team;
      out(`team ${t.name} (${t.id}): weight ${t.weight}, max running ${t.maxRunning ?? "none"}, max waiting ${t.maxWaiting ?? "none (HYPERSWEEP_MAX_QUEUED_TRIALS)"}; running ${t.running}, waiting ${t.waiting}`);
    });
}
