/**
 * Hostile uploads (issue 9): the time and peak memory to refuse each bomb, beside the time to import a normal
 * dataset of about the same upload size from a directory, a .tar.gz and a .zip. Runs importDataset in this
 * process with the limits the API derives from the upload's size (default caps); medians of --repeats runs,
 * peak RSS growth from /proc/self (VmHWM reset before each run).
 *
 *   npx tsx bench/upload-bounds.ts [--images 300] [--repeats 5] [--out bench/results/upload-bounds.md]
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { importDataset, synthDataset, uploadLimits, type UploadCaps } from "@hypersweep/data";
import { tarPieces, writeGzip, writeZip } from "../packages/data/test/archives.ts";
import { machine } from "./lib.ts";

const arg = (name: string, dflt: number | string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : String(dflt);
};
const IMAGES = Number(arg("images", 300));
const REPEATS = Number(arg("repeats", 5));
const OUT = arg("out", "bench/results/upload-bounds.md");
const MiB = 1024 ** 2;
const CAPS: UploadCaps = { ratio: 4, maxEntries: 50_000, maxEntryBytes: 256 * MiB, maxTotalBytes: 8 * 1024 * MiB };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function memory(): Promise<{ rss: number; peak: number }> {
  const status = await readFile("/proc/self/status", "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)![1]) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

interface Row {
  name: string;
  upload: number;
  outcome: string;
  ms: number;
  growth: number;
}

async function measure(name: string, source: string, work: string): Promise<Row> {
  const upload = (await stat(source)).isDirectory() ? 0 : (await stat(source)).size;
  const limits = upload ? uploadLimits(upload, CAPS) : undefined;
  const times: number[] = [];
  let growth = 0;
  let outcome = "";
  for (let i = 0; i < REPEATS; i++) {
    const root = join(work, `root-${name.replace(/\W+/g, "-")}-${i}`);
    await writeFile("/proc/self/clear_refs", "5");
    const before = await memory();
    const t = performance.now();
    outcome = await importDataset(source, { dataRoot: root, limits, maxRows: 50_000 }).then(
      (r) => `imported (${r.rows.length} images)`,
      (e: Error) => `refused: ${e.message.split("\n")[0]!.slice(0, 90)}`,
    );
    times.push(performance.now() - t);
    growth = Math.max(growth, (await memory()).peak - before.rss);
    await rm(root, { recursive: true, force: true });
  }
  return { name, upload, outcome, ms: median(times), growth };
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), "hs-bench-upload-"));
  try {
    const src = join(work, "stock");
    await synthDataset(src, { images: IMAGES, size: 64, seed: 1 });
    const manifest = await readFile(join(src, "manifest.csv"));
    const names = (await readdir(join(src, "images"))).sort();
    const images = await Promise.all(names.map(async (n) => ({ name: `images/${n}`, data: await readFile(join(src, "images", n)) })));
    const tgz = join(work, "stock.tar.gz");
    await tar.c({ gzip: true, file: tgz, cwd: work, portable: true }, ["stock"]);
    const zip = join(work, "stock.zip");
    execFileSync("zip", ["-qr", zip, "."], { cwd: src });
    const zipBomb = join(work, "zip-bomb.zip");
    await writeZip(zipBomb, [{ name: "manifest.csv", data: manifest }, ...images.slice(1), { name: images[0]!.name, zeros: 900 * MiB }]);
    const tgzBomb = join(work, "tgz-bomb.tar.gz");
    await writeGzip(tgzBomb, tarPieces([{ path: "manifest.csv", data: manifest }, { path: "junk/zeros.bin", zeros: 1024 * MiB }]));
    const many = join(work, "many.tar.gz");
    await writeGzip(many, tarPieces([{ path: "manifest.csv", data: manifest }, ...Array.from({ length: 20_000 }, (_, i) => ({ path: `e/${i}.png`, data: Buffer.alloc(0) }))]));
    const lines = manifest.toString().trim().split("\n");
    const rows = join(work, "rows.tar.gz");
    const body = [lines[0], ...Array.from({ length: 100_000 }, (_, i) => lines[1 + (i % (lines.length - 1))]!.replace(/images\/[^,]+/, `images/r${i}.png`))].join("\n");
    await writeGzip(rows, tarPieces([{ path: "manifest.csv", data: Buffer.from(body) }]));

    const results: Row[] = [];
    for (const [name, file] of [
      ["normal: directory", src],
      ["normal: .tar.gz", tgz],
      ["normal: .zip", zip],
      ["zip bomb: manifest names 900 MiB of zeros", zipBomb],
      ["tar.gz bomb: 1 GiB of unreferenced zeros", tgzBomb],
      ["20,000 empty entries", many],
      ["100,000-row manifest", rows],
    ] as const) {
      console.error(`upload-bounds: ${name}`);
      results.push(await measure(name, file, work));
    }
    const dir = results[0]!.ms;
    const out = [
      "# Hostile uploads: refused early, bounded in memory (`npx tsx bench/upload-bounds.ts`)",
      "",
      `Machine: ${machine()}. ${IMAGES} synthetic 64 px images; the limits the API derives from each upload's size`,
      `with the default caps (ratio 4, at least 64 MiB; 1,000 entries + 1 per 256 bytes; 50,000 rows). Median of ${REPEATS} runs;`,
      "peak RSS growth is the largest over the runs (VmHWM after − VmRSS before, this process).",
      "",
      "| upload | size | outcome | median time | × directory import | peak RSS growth |",
      "| --- | ---: | --- | ---: | ---: | ---: |",
      ...results.map((r) => `| ${r.name} | ${r.upload ? `${(r.upload / MiB).toFixed(2)} MiB` : "—"} | ${r.outcome.replace(/\|/g, "\\|")} | ${r.ms.toFixed(0)} ms | ${(r.ms / dir).toFixed(2)} | ${(r.growth / MiB).toFixed(1)} MiB |`),
      "",
      "Before this change (measured once against the API, issue 9): the zip bomb took 5.9 s and raised the API's",
      "peak RSS by 933 MiB (400 only after reading the entry whole); the tar.gz bomb wrote ~1 GiB and answered",
      "500 or 201; 20,000 empty entries were accepted; the 100,000-row manifest answered a 12 MB body.",
      "",
    ].join("\n");
    await writeFile(OUT, out);
    console.log(out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
