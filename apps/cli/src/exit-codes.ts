/** The CLI's exit codes, for scripts (documented in `hypersweep --help` and the README). */
import { Command, CommanderError } from "commander";
import { ApiError } from "./client.ts";

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The API refused the request (HTTP 4xx other than 401/403, or 5xx), or a local error (a file, a value). */
  failed: 1,
  /** Usage: an unknown command or option, a missing argument. */
  usage: 2,
  /** The API could not be reached. */
  unreachable: 3,
  /** The API key or admin token is missing or wrong (HTTP 401/403). */
  unauthorized: 4,
  /** A followed sweep (--watch, watch) ended failed or cancelled. */
  sweepNotSucceeded: 5,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  the API refused the request (HTTP 4xx/5xx, explained on stderr) or a local error
  2  usage: unknown command or option, missing argument
  3  the API could not be reached
  4  the API key or admin token is missing or wrong (HTTP 401/403)
  5  a followed sweep (--watch, watch) ended failed or cancelled

Output: tables on stdout (colour only on a terminal, never with NO_COLOR set); --json prints the API's answer
instead; progress bars and errors go to stderr.`;

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof ApiError) {
    if (err.status === 0) return EXIT.unreachable;
    if (err.status === 401 || err.status === 403) return EXIT.unauthorized;
  }
  return EXIT.failed;
}

/** Exit code of a followed sweep's final status. */
export const watchExit = (status: string) => (status === "succeeded" ? EXIT.ok : EXIT.sweepNotSucceeded);

/** Usage errors throw (exit 2 via exitCodeFor) instead of exiting 1, on every command and subcommand. */
export function throwOnUsageErrors(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwOnUsageErrors(sub);
}
