/**
 * `hypersweep weights …`: import pretrained weights (a torchvision-named .safetensors state_dict) for one
 * architecture under a name, and list the team's weights. A sweep then starts from them with
 * `overrides.pretrained: { "<architecture>": "<name>" }`.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Command } from "commander";
import { HypersweepClient } from "../client.ts";
import { connection, connectionOptions, uploadMultipart } from "../upload.ts";

const out = (s: string): void => void process.stdout.write(`${s}\n`);

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export interface ImportWeightsOptions {
  url: string;
  apiKey?: string;
  architecture: string;
  name: string;
  progress?: boolean;
}

/** Uploads a .safetensors file; resolves with the API's answer, throws ApiError on rejection. */
export async function importWeightsViaApi(file: string, o: ImportWeightsOptions): Promise<any> {
  const abs = resolve(file);
  const st = await stat(abs).catch(() => null);
  if (!st?.isFile()) throw new Error(`${file} is not a file`);
  return uploadMultipart("/v1/weights", { architecture: o.architecture, name: o.name }, abs, o);
}

/** `--pretrained resnet18=imagenet densenet121=chexpert` → overrides.pretrained. */
export function pretrainedFlags(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = /^([a-z0-9_]+)=(.+)$/.exec(v);
    if (!m) throw new Error(`--pretrained takes <architecture>=<name> (e.g. resnet18=imagenet), got ${JSON.stringify(v)}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

export function weightsCommand(): Command {
  const cmd = new Command("weights").description("import and list pretrained weights (torchvision-named .safetensors)");

  connectionOptions(cmd.command("import"))
    .description("import a torchvision state_dict saved as .safetensors, checked against the architecture's tensors")
    .argument("<file>", ".safetensors file")
    .requiredOption("--arch <architecture>", "the architecture the weights are for, e.g. resnet18")
    .requiredOption("--name <name>", "the name sweeps use, e.g. imagenet")
    .option("--no-progress", "no progress bar")
    .action(async (file: string, o: { arch: string; name: string; progress: boolean }, c: Command) => {
      const w = await importWeightsViaApi(file, { ...connection(c), architecture: o.arch, name: o.name, progress: o.progress });
      out(`weights ${w.name} for ${w.architecture} (${w.id}): ${w.created ? "imported" : "already imported (same content)"}`);
      out(`sha256 ${w.sha256}, ${w.tensorCount} tensors, ${mb(w.sizeBytes)}`);
      out(`use them in a sweep: "overrides": { "pretrained": { "${w.architecture}": "${w.name}" } }`);
    });

  connectionOptions(cmd.command("list"))
    .description("list your team's pretrained weights")
    .option("--arch <architecture>", "only this architecture's")
    .option("--json", "print the API's answer as JSON instead of a table")
    .action(async (o: { arch?: string; json?: boolean }, c: Command) => {
      const q = o.arch ? `?architecture=${encodeURIComponent(o.arch)}` : "";
      const r = await new HypersweepClient(connection(c)).request("GET", `/v1/weights${q}`);
      if (o.json) return out(JSON.stringify(r, null, 2));
      const { weights } = r;
      if (!weights.length) {
        out("no weights yet: hypersweep weights import <file> --arch <architecture> --name <name>");
        return;
      }
      const rows: string[][] = [["name", "architecture", "sha256", "size", "tensors", "imported"], ...weights.map((w: any) => [w.name, w.architecture, w.sha256.slice(0, 16), mb(w.sizeBytes), String(w.tensorCount), String(w.createdAt).slice(0, 19)])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) out(r.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd());
    });
  return cmd;
}
