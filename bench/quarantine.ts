/**
 * What worker quarantine costs the lease protocol, side by side in one run on the real Postgres:
 *  - failAttempt with the quarantine policy (the worker row locked, its latest finished attempts read) against
 *    failAttempt without it (HYPERSWEEP_QUARANTINE_FAILURES=0), alternating one call each;
 *  - recordResult (every trial's end) with the partial index attempts_worker_finished_idx against without it
 *    (dropped and recreated between alternating blocks), on an attempts table of `--history` rows.
 * Prints a markdown table and writes bench/results/quarantine.md. `npx tsx bench/quarantine.ts [--rounds 300] [--history 200000]`
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { claimTrial, createDb, createSweep, createTeam, failAttempt, recordResult, registerWorker, type Db } from "@hypersweep/db";
import globalSetup from "../test/helpers/global-setup.ts";
import { createTestDatabase } from "../test/helpers/test-db.ts";
import { machine, ms, summary } from "./lib.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROUNDS = arg("rounds", 300);
const HISTORY = arg("history", 200_000);
const lease = { leaseMs: 60_000, maxAttempts: 1_000_000 };
const result = { bestEpoch: 1, metrics: {}, valAuc: 0.8, valF1: 0.5, valLoss: 0.3, selectionScore: 0.8, tiebreakScore: 0.5 };

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main() {
  await globalSetup();
  const tdb = await createTestDatabase("benchquarantine");
  const db: Db = createDb(tdb.url);
  try {
    const teamId = (await createTeam(db, "bench")).team.id;
    const ds = await db.dataset.create({ data: { teamId, name: "d" } });
    const v = await db.datasetVersion.create({ data: { datasetId: ds.id, contentHash: "h", storagePath: "/tmp/x", imageCount: 0, summary: {}, manifest: [] } });
    const trialsNeeded = ROUNDS * 4 + 10;
    const sweep = await createSweep(db, {
      teamId, datasetId: ds.id, datasetVersionId: v.id, scenarioKey: "ct/binary", task: "binary", scenario: { key: "ct/binary" }, preset: "p",
      spec: { final: false }, seed: 1, planHash: "x",
      trials: Array.from({ length: trialsNeeded }, (_, i) => ({ position: i, key: `k${i}`, architecture: "small_cnn", learningRate: 1e-3, augmentations: [], stage: "search" as const, spec: { epochs: 3 } })),
    });
    // A fleet's history: finished attempts of 50 workers on one old trial.
    const old = sweep.trials[trialsNeeded - 1].id;
    await db.$executeRawUnsafe(
      `INSERT INTO attempts (id, trial_id, number, worker_id, status, finished_at, error_reason)
       SELECT gen_random_uuid(), $1::uuid, g, 'node-' || (g % 50), CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'succeeded' END::attempt_status,
              now() - (g || ' seconds')::interval, CASE WHEN g % 7 = 0 THEN 'crashed' END
       FROM generate_series(1, $2::int) g`,
      old, HISTORY,
    );
    await db.$executeRawUnsafe(`ANALYZE attempts`);
    for (const id of ["node-0", "bench-on", "bench-off"]) await registerWorker(db, { id, host: "h", pid: 1, gpus: [], backend: null, version: "b", concurrency: 1 });

    let next = 0;
    const fresh = () => sweep.trials[next++].id;
    const crash = { reason: "crashed", message: "trainer exited with code 1", maxAttempts: lease.maxAttempts };
    // failAttempt, alternating with and without the policy; a success after each keeps the worker out of quarantine.
    const on: number[] = [];
    const off: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [worker, samples, quarantine] of [["bench-on", on, { failures: 3, cooldownMs: 60_000 }], ["bench-off", off, undefined]] as const) {
        const id = fresh();
        const c = await claimTrial(db, id, worker, lease);
        if (c.kind !== "claimed") throw new Error("not claimed");
        samples.push(await timed(() => failAttempt(db, id, c.trial.attempt, { ...crash, quarantine })));
        const s = fresh();
        const cs = await claimTrial(db, s, worker, lease);
        if (cs.kind !== "claimed") throw new Error("not claimed");
        await recordResult(db, s, cs.trial.attempt, result);
      }
    }
    if ((await db.worker.findUniqueOrThrow({ where: { id: "bench-on" } })).quarantinedAt) throw new Error("the measured worker was quarantined: the comparison is void");

    // recordResult with and without the index, in alternating blocks on fresh claims (the same open sweep).
    const resultSweep = await createSweep(db, {
      teamId, datasetId: ds.id, datasetVersionId: v.id, scenarioKey: "ct/binary", task: "binary", scenario: { key: "ct/binary" }, preset: "p",
      spec: { final: false }, seed: 2, planHash: "y",
      trials: Array.from({ length: ROUNDS * 2 + 1 }, (_, i) => ({ position: i, key: `r${i}`, architecture: "small_cnn", learningRate: 1e-3, augmentations: [], stage: "search" as const, spec: { epochs: 3 } })),
    });
    let k = 0;
    const withIdx: number[] = [];
    const withoutIdx: number[] = [];
    const BLOCK = 25;
    for (let b = 0; b < (ROUNDS * 2) / BLOCK; b++) {
      const indexed = b % 2 === 0;
      if (indexed) await db.$executeRawUnsafe(`CREATE INDEX IF NOT EXISTS attempts_worker_finished_idx ON attempts (worker_id, finished_at DESC) WHERE status IN ('succeeded', 'failed')`);
      else await db.$executeRawUnsafe(`DROP INDEX IF EXISTS attempts_worker_finished_idx`);
      for (let i = 0; i < BLOCK; i++) {
        const id = resultSweep.trials[k++].id;
        const c = await claimTrial(db, id, "node-0", lease);
        if (c.kind !== "claimed") throw new Error("not claimed");
        (indexed ? withIdx : withoutIdx).push(await timed(() => recordResult(db, id, c.trial.attempt, result)));
      }
    }
    await db.$executeRawUnsafe(`CREATE INDEX IF NOT EXISTS attempts_worker_finished_idx ON attempts (worker_id, finished_at DESC) WHERE status IN ('succeeded', 'failed')`);

    const a = summary(on), b = summary(off), c = summary(withIdx), d = summary(withoutIdx);
    const load = loadavg().map((x) => x.toFixed(1)).join(", ");
    const lines = [
      "# Worker quarantine: what it costs the lease protocol (`npx tsx bench/quarantine.ts`)",
      "",
      `Machine: ${machine()}. Date: ${new Date().toISOString()}. Load average (1, 5, 15 min) at the end: ${load}. ${ROUNDS} rounds; attempts table of ${HISTORY.toLocaleString("en")} finished attempts of 50 workers.`,
      "",
      "| statement | variant | p50 | p95 | ratio of p50 |",
      "|---|---|---|---|---|",
      `| failAttempt (a crash) | quarantine policy on (worker row locked, streak read) | ${ms(a.p50)} | ${ms(a.p95)} | ${(a.p50 / b.p50).toFixed(2)} |`,
      `| failAttempt (a crash) | policy off | ${ms(b.p50)} | ${ms(b.p95)} | 1 |`,
      `| recordResult | with attempts_worker_finished_idx | ${ms(c.p50)} | ${ms(c.p95)} | ${(c.p50 / d.p50).toFixed(2)} |`,
      `| recordResult | without it | ${ms(d.p50)} | ${ms(d.p95)} | 1 |`,
      "",
      "Only failures pay for the judgement (successes, epochs and heartbeats do not run it); the index is written once per",
      "attempt, when it finishes.",
      "",
    ];
    console.log(lines.join("\n"));
    mkdirSync("bench/results", { recursive: true });
    writeFileSync("bench/results/quarantine.md", lines.join("\n"));
  } finally {
    await db.$disconnect();
    await tdb.drop();
  }
}

await main();
