/**
 * `hypersweep datasets …`: import a dataset (a directory or an archive) through the API with a progress bar,
 * list and show datasets, and write a synthetic Data-Stock-shaped dataset locally.
 *
 * Import streams the archive as multipart/form-data (fields first, then the file) so neither side holds it in
 * memory; a directory is first packed into a temporary .tar.gz.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { Command } from "commander";
import * as tar from "tar";
import { synthDataset } from "@hypersweep/data";
import { HypersweepClient } from "../client.ts";
import { connection, connectionOptions, uploadMultipart } from "../upload.ts";

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const JSON_HELP = "print the API's answer as JSON instead of a table";

export function datasetsCommand(): Command {
  const cmd = new Command("datasets").description("import, list and synthesise datasets");

  connectionOptions(cmd.command("import"))
    .description("import a dataset: a directory with manifest.csv, or a .tar, .tar.gz or .zip of one")
    .argument("<source>", "directory or archive")
    .option("--name <name>", "dataset name (default: the directory or archive name)")
    .option("--exclude-bad-rows", "import the valid rows and report the others instead of rejecting the dataset")
    .option("--split-seed <n>", "seed of the 70/15/15 split for rows without one", (v) => Number(v))
    .option("--no-progress", "no progress bar")
    .option("--json", JSON_HELP)
    .action(async (source: string, o: { name?: string; excludeBadRows?: boolean; splitSeed?: number; progress: boolean; json?: boolean }, c: Command) => {
      const res = await importViaApi(source, { ...connection(c), ...o });
      if (o.json) return out(JSON.stringify(res, null, 2));
      out(`dataset ${res.dataset.name} (${res.dataset.id}): version ${res.version.id} ${res.created ? "created" : "already imported (same content)"}`);
      out(`content ${res.version.contentHash.slice(0, 16)}…, ${res.version.imageCount} images`);
      out(summaryTable(res.summary));
      if (res.summary?.excluded?.length) {
        const more = (res.summary.excludedCount ?? 0) > res.summary.excluded.length ? `, … (${res.summary.excludedCount} in all)` : "";
        out(`${res.summary.excludedCount ?? res.summary.excluded.length} row(s) excluded: ${res.summary.excluded.map((e: { row: number }) => e.row).join(", ")}${more}`);
      }
    });

  connectionOptions(cmd.command("list"))
    .description("list your team's datasets")
    .option("--json", JSON_HELP)
    .action(async (o: { json?: boolean }, c: Command) => {
      const r = await new HypersweepClient(connection(c)).request("GET", "/v1/datasets");
      if (o.json) return out(JSON.stringify(r, null, 2));
      const { datasets } = r;
      for (const d of datasets) out(`${d.id}  ${String(d.name).padEnd(24)} ${d.versionCount} version(s)  ${d.latestVersion ? `${d.latestVersion.imageCount} images` : ""}`);
    });

  connectionOptions(cmd.command("show"))
    .description("a dataset's versions and the summary of its latest")
    .argument("<id|name>")
    .option("--json", JSON_HELP)
    .action(async (id: string, o: { json?: boolean }, c: Command) => {
      const d = await new HypersweepClient(connection(c)).request("GET", `/v1/datasets/${encodeURIComponent(id)}`);
      if (o.json) return out(JSON.stringify(d, null, 2));
      out(`${d.name} (${d.id})`);
      for (const v of d.versions) out(`  version ${v.id}  ${v.contentHash.slice(0, 16)}…  ${v.imageCount} images  ${v.createdAt}`);
      if (d.versions[0]) out(summaryTable(d.versions[0].summary));
    });

  cmd
    .command("synth")
    .description("write a synthetic Data-Stock-shaped dataset (manifest.csv + png/jpg/gif images) locally")
    .argument("<outDir>")
    .option("--images <n>", "number of images", (v) => Number(v), 300)
    .option("--size <px>", "nominal image side", (v) => Number(v), 64)
    .option("--seed <n>", "random seed", (v) => Number(v), 1)
    .option("--broken <k>", "rows with broken files (zero bytes, truncated, not an image, missing)", (v) => Number(v), 0)
    .action(async (outDir: string, o: { images: number; size: number; seed: number; broken: number }) => {
      for (const [k, v] of Object.entries(o)) if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${v}`);
      const started = Date.now();
      const r = await synthDataset(resolve(outDir), o);
      out(`${r.images} images written to ${r.dir} in ${((Date.now() - started) / 1000).toFixed(1)} s (manifest: ${r.manifestPath})`);
      for (const b of r.broken) out(`  broken on purpose: row ${b.row} ${b.fileName} (${b.kind})`);
    });
  return cmd;
}

export interface ImportViaApiOptions {
  url: string;
  apiKey?: string;
  name?: string;
  excludeBadRows?: boolean;
  splitSeed?: number;
  /** Show a progress bar on stderr. @defaultValue true */
  progress?: boolean;
}

/** Packs (if needed) and uploads a dataset; resolves with the API's answer, throws ApiError on rejection. */
export async function importViaApi(source: string, o: ImportViaApiOptions): Promise<any> {
  const abs = resolve(source);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new Error(`${source} does not exist`);
  const name = o.name ?? basename(abs).replace(/\.(tar\.gz|tgz|tar|zip)$/i, "");
  let scratch: string | null = null;
  try {
    let file = abs;
    if (st.isDirectory()) {
      scratch = await mkdtemp(join(tmpdir(), "hypersweep-upload-"));
      file = join(scratch, `${name}.tar.gz`);
      await tar.c({ gzip: true, file, cwd: dirname(abs), portable: true }, [basename(abs)]);
    }
    return await upload(file, name, o);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

function upload(file: string, name: string, o: ImportViaApiOptions): Promise<any> {
  const fields: Record<string, string> = { name };
  if (o.excludeBadRows) fields.excludeBadRows = "true";
  if (o.splitSeed !== undefined) fields.splitSeed = String(o.splitSeed);
  return uploadMultipart("/v1/datasets", fields, file, o);
}

/** The paper's Table 2 shape: diagnosis rows, modality × section columns, then the split counts. */
export function summaryTable(summary: any): string {
  if (!summary?.table) return "";
  const cols: [string, string][] = [["ct", "axial"], ["ct", "coronal"], ["ct", "total"], ["radiograph", "sagittal"], ["radiograph", "coronal"], ["radiograph", "total"]];
  const lines = [["diagnosis", ...cols.map(([m, s]) => `${m === "ct" ? "CT" : "XR"} ${s}`), "train", "valid", "test"]];
  for (const [d, byMod] of Object.entries<any>(summary.table)) {
    const split = ["train", "valid", "test"].map((s) => String((summary.splitTable?.ct?.[d]?.[s] ?? 0) + (summary.splitTable?.radiograph?.[d]?.[s] ?? 0)));
    lines.push([d, ...cols.map(([m, s]) => String(byMod?.[m]?.[s] ?? 0)), ...split]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}
