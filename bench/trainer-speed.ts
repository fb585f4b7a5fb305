/**
 * Training and inference throughput of the tfjs trainer models (wasm backend) side by side with torchvision
 * on PyTorch CPU (2 threads), in one run, interleaved round by round so that machine noise hits both.
 *
 *   npx tsx bench/trainer-speed.ts [--rounds 3] [--iters 3] [--models resnet18,small_cnn] [--size 64]
 *       [--batch 32] [--variants shipped:1,optimised:1,optimised:2] [--no-torch] [--out bench/results/trainer-speed.md]
 *
 * Variants are <kernels>:<threads>. Kernels "shipped" = tfjs-backend-wasm 4.22 kernels + the missing
 * Conv2DBackpropFilter + tfjs-layers' stock BatchNorm; "optimised" = our conv gradient kernels + the fused
 * BatchNorm gradient. Threads = the wasm backend's pool (1 = its single-threaded binary). Each variant runs in
 * its own process (bench/tfjs_speed_server.ts), since the thread count is fixed per process.
 * Torch side: bench/torch_speed.py run as a server by /usr/bin/python3 (Debian python3-torch).
 */
import { spawn, execSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { createInterface } from "node:readline";

type Arch = "resnet18" | "small_cnn";
type Mode = "train" | "infer";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const ROUNDS = Number(arg("rounds", "3")), ITERS = Number(arg("iters", "3"));
const MODELS = arg("models", "resnet18,small_cnn").split(",") as Arch[];
const VARIANTS = arg("variants", "shipped:1,optimised:1,optimised:2").split(",").map((v) => {
  const [kernels, threads = "1"] = v.split(":");
  return { kernels: kernels!, threads: Number(threads) };
});
const SIZE = Number(arg("size", "64")), BATCH = Number(arg("batch", "32")), CLASSES = 3;
const TORCH = !process.argv.includes("--no-torch");
const OUT = arg("out", "bench/results/trainer-speed.md");

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const log = (...a: unknown[]) => console.error(new Date().toISOString().slice(11, 19), ...a);

/** A benchmark server process: one JSON command per line in, one JSON answer per line out. */
class LineServer {
  private proc;
  private lines;
  constructor(command: string, args: string[]) {
    this.proc = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
    this.lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();
  }
  async ask<R>(cmd: object): Promise<R> {
    this.proc.stdin!.write(JSON.stringify(cmd) + "\n");
    const { value, done } = await this.lines.next();
    if (done) throw new Error("benchmark server exited");
    return JSON.parse(value as string) as R;
  }
  close() { this.proc.stdin!.end(); }
}

/** Seconds per iteration: wall clock and CPU time of the process (all threads). */
interface Timing { times: number[]; cpu: number[] }
interface Runner { name: string; server: LineServer; info: Record<string, unknown>; run(arch: Arch, mode: Mode, iters: number): Promise<Timing> }

async function runner(name: string, server: LineServer): Promise<Runner> {
  const info = await server.ask<Record<string, unknown>>({ cmd: "info" });
  return {
    name, server, info,
    run: (arch, mode, iters) => server.ask<Timing>({ model: arch, mode, iters, batch: BATCH, size: SIZE, classes: CLASSES }),
  };
}

async function main() {
  const start = new Date();
  const load0 = loadavg();
  const runners: Runner[] = [];
  if (TORCH) runners.push(await runner("torch cpu 2 threads", new LineServer("/usr/bin/python3", ["bench/torch_speed.py"])));
  for (const v of VARIANTS) {
    const server = new LineServer(process.execPath, ["--import", "tsx", "bench/tfjs_speed_server.ts", "--kernels", v.kernels, "--threads", String(v.threads)]);
    runners.push(await runner(`tfjs wasm ${v.kernels}, ${v.threads} thread${v.threads > 1 ? "s" : ""}`, server));
  }
  // per-round images/s: results[arch][mode][runner] = number[] (one median per round)
  const results: Results = {};
  for (const arch of MODELS) {
    for (const r of runners) { log("warm-up", arch, r.name); await r.run(arch, "train", 1); await r.run(arch, "infer", 1); }
    for (let round = 0; round < ROUNDS; round++) {
      const order = runners.map((_, i) => runners[(i + round) % runners.length]!); // rotate who goes first
      for (const r of order) {
        for (const mode of ["train", "infer"] as Mode[]) {
          const t = await r.run(arch, mode, mode === "train" ? ITERS : ITERS * 2);
          const ips = BATCH / median(t.times), ipc = BATCH / median(t.cpu);
          const cell = (((results[arch] ??= {})[mode] ??= {})[r.name] ??= { wall: [], cpu: [] });
          cell.wall.push(ips);
          cell.cpu.push(ipc);
          log(arch, mode, r.name, `round ${round + 1}`, ips.toFixed(2), "img/s,", ipc.toFixed(2), "img/CPU-s");
        }
      }
    }
  }
  for (const r of runners) r.server.close();
  writeFileSync(OUT, report({ start, load0, load1: loadavg(), runners, results }));
  log("wrote", OUT);
  process.exit(0);
}

type Results = Record<string, Record<string, Record<string, { wall: number[]; cpu: number[] }>>>;

function report(r: { start: Date; load0: number[]; load1: number[]; runners: Runner[]; results: Results }): string {
  const torchName = r.runners[0]!.name.startsWith("torch") ? r.runners[0]!.name : null;
  const lines = [
    "# Trainer speed: tfjs (wasm) vs PyTorch CPU",
    "",
    `- Date: ${r.start.toISOString()}`,
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"} (nproc ${execSync("nproc").toString().trim()}), Node ${process.version}, load average ${r.load0.map((v) => v.toFixed(1)).join(" ")} at start, ${r.load1.map((v) => v.toFixed(1)).join(" ")} at end`,
    ...r.runners.map((x) => `- ${x.name}: ${JSON.stringify(x.info)}`),
    `- Command: \`npx tsx bench/trainer-speed.ts ${process.argv.slice(2).join(" ")}\``,
    `- Batch ${BATCH}, ${SIZE}×${SIZE}×3, ${CLASSES} classes, Adam; ${ROUNDS} interleaved rounds (order rotated each round), each the median of ${ITERS} training steps / ${ITERS * 2} inference batches after one warm-up; the table gives the median over rounds; ratios are per round (same round, side by side), then the median.`,
    "",
  ];
  for (const [arch, modes] of Object.entries(r.results)) {
    for (const [mode, byRunner] of Object.entries(modes)) {
      lines.push(`## ${arch} ${mode === "train" ? "training" : "inference"} (images/s)`, "");
      lines.push(`| runner | img/s (wall) | per round | ratio to torch, wall | img per CPU-second | ratio to torch, CPU |`, "| --- | ---: | --- | ---: | ---: | ---: |");
      const torch = torchName ? byRunner[torchName] : undefined;
      for (const [name, c] of Object.entries(byRunner)) {
        const ratio = (k: "wall" | "cpu") => (torch && name !== torchName ? median(c[k].map((v, i) => v / torch[k][i]!)).toFixed(3) : "");
        lines.push(`| ${name} | ${median(c.wall).toFixed(2)} | ${c.wall.map((v) => v.toFixed(2)).join(", ")} | ${ratio("wall")} | ${median(c.cpu).toFixed(2)} | ${ratio("cpu")} |`);
      }
      lines.push("");
    }
  }
  return lines.join("\n");
}

await main();
