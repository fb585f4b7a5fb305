/**
 * GET /v1/events, the team-wide event stream: a team's stream carries every event of its own sweeps (as the
 * per-sweep stream sends them) and the fleet's changes, and never an event of another team's sweep; read keys
 * may open it; it counts against the team's open streams together with per-sweep streams.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, eventually, startStack, sweepBody, type Stack } from "../../../test/helpers/stack.ts";
import { fleetChange, type WorkerRow } from "../src/fleet-watch.ts";

interface Received { type: string; data: any }

/** Opens an event stream and collects its events until `close()`. */
function listen(url: string, key: string) {
  const ac = new AbortController();
  const events: Received[] = [];
  const opened = fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: ac.signal }).then(async (res) => {
    if (res.status !== 200) return res;
    void (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += value;
          let cut: number;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (type && data) events.push({ type, data: JSON.parse(data) });
          }
        }
      } catch {
        // aborted
      }
    })();
    return res;
  });
  return { opened, events, close: () => ac.abort() };
}

let s: Stack;
let teamB: { id: string; apiKey: string };
let datasetB: { id: string };

beforeAll(async () => {
  s = await startStack("team-events", { apiEnv: { HYPERSWEEP_MAX_STREAMS: "3" } });
  teamB = await s.newTeam("team-b");
  datasetB = await s.addDataset(teamB.id, "stock-b");
}, 60_000);
afterAll(async () => s?.close());

describe("GET /v1/events", () => {
  it("carries every event of the team's sweeps and the fleet's changes, and none of another team's", async () => {
    const a = listen(`${s.url}/v1/events`, s.team.apiKey);
    const b = listen(`${s.url}/v1/events`, teamB.apiKey);
    expect((await a.opened).status).toBe(200);
    expect((await a.opened).headers.get("content-type")).toContain("text/event-stream");
    expect((await b.opened).status).toBe(200);
    await eventually(async () => a.events.length > 0 && b.events.length > 0, 10_000);
    expect(a.events[0]).toMatchObject({ type: "snapshot", data: { teamId: s.team.id, sweeps: [], workers: [] } });
    expect(b.events[0]).toMatchObject({ type: "snapshot", data: { teamId: teamB.id, sweeps: [] } });

    // Team A's sweep runs to the end on a worker.
    const sweep = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { overrides: { searchEpochs: 2, imageSize: 16, subsetsPerRate: 1 } }));
    expect(sweep.status).toBe(201);
    const worker = await s.startWorker();
    await eventually(async () => a.events.some((e) => e.type === "sweep.finished"), 60_000);
    const ofSweep = a.events.filter((e) => e.data.sweepId === sweep.body.id);
    const count = (t: string) => ofSweep.filter((e) => e.type === t).length;
    expect(count("sweep.created")).toBe(1);
    expect(count("trial.started")).toBe(4);
    expect(count("epoch.done")).toBe(8);
    expect(count("trial.finished")).toBe(4);
    expect(ofSweep.find((e) => e.type === "sweep.finished")!.data.status).toBe("succeeded");
    // The fleet: the new worker arrived in a change (the whole row), then its heartbeats.
    await eventually(async () => a.events.some((e) => e.type === "workers.changed" && e.data.workers.some((w: WorkerRow) => w.id === worker.id)), 10_000);

    // Team B's stream is alive (it sees its own sweep) and has seen nothing of team A's.
    const own = await s.http("POST", "/v1/sweeps", sweepBody(datasetB.id), teamB.apiKey);
    expect(own.status).toBe(201);
    await eventually(async () => b.events.some((e) => e.type === "sweep.created"), 10_000);
    const sweepEvents = b.events.filter((e) => e.data.sweepId !== undefined);
    expect(sweepEvents.length).toBeGreaterThan(0);
    expect(sweepEvents.every((e) => e.data.sweepId === own.body.id && e.data.teamId === teamB.id)).toBe(true);
    expect(JSON.stringify(b.events)).not.toContain(sweep.body.id);
    expect(JSON.stringify(b.events)).not.toContain(s.team.id);
    a.close();
    b.close();
    await s.stopWorkers();
  }, 120_000);

  it("is open to read keys, answers 401 without a key, and counts against the team's open streams", async () => {
    const made = await s.http("POST", `/v1/admin/teams/${s.team.id}/keys`, { name: "wall", scope: "read" }, ADMIN_TOKEN);
    const readKey = made.body.apiKey as string;
    expect((await fetch(`${s.url}/v1/events`)).status).toBe(401);
    // Wait until the first test's streams are counted out.
    const sweep = await s.http("POST", "/v1/sweeps", sweepBody(s.dataset.id, { seed: 9 }));
    const streams = [
      listen(`${s.url}/v1/events`, readKey),
      listen(`${s.url}/v1/sweeps/${sweep.body.id}/events`, s.team.apiKey),
    ];
    await eventually(async () => {
      const third = listen(`${s.url}/v1/events`, s.team.apiKey);
      const res = await third.opened;
      if (res.status === 200) streams.push(third);
      else await res.body?.cancel();
      return res.status === 200;
    }, 10_000);
    for (const st of streams) expect((await st.opened).status).toBe(200);
    await eventually(async () => streams[0].events.length > 0, 10_000);
    expect(streams[0].events[0].type).toBe("snapshot");
    // A fourth stream of either kind is refused while three are open.
    const over = await fetch(`${s.url}/v1/events`, { headers: { authorization: `Bearer ${readKey}` } });
    expect(over.status).toBe(429);
    expect(((await over.json()) as { message: string }).message).toContain("3 event streams open");
    const overSweep = await fetch(`${s.url}/v1/sweeps/${sweep.body.id}/events`, { headers: { authorization: `Bearer ${s.team.apiKey}` } });
    expect(overSweep.status).toBe(429);
    await overSweep.body?.cancel();
    // Another team's limit is its own.
    const other = listen(`${s.url}/v1/events`, teamB.apiKey);
    expect((await other.opened).status).toBe(200);
    for (const st of [...streams, other]) st.close();
  }, 60_000);
});

describe("GET /v1/events: the fleet as each team may see it", () => {
  it("shows a quarantined node's failed attempts to every team, their trial and message only to the trial's own team", async () => {
    const attempt = { id: "att-1", trialId: "11111111-2222-4333-8444-555555555555", teamId: s.team.id, number: 2, reason: "crashed", message: "CUDA error: team A's secret path", finishedAt: new Date().toISOString() };
    await s.db.worker.create({ data: { id: "sick-node", host: "gpu-7", pid: 1, gpus: ["0"], version: "0.1.0", concurrency: 1, quarantinedAt: new Date(), quarantinedUntil: new Date(Date.now() + 30 * 60_000), quarantineReason: "3 attempts crashed", quarantineAttempts: [attempt] } });
    const a = listen(`${s.url}/v1/events`, s.team.apiKey);
    const b = listen(`${s.url}/v1/events`, teamB.apiKey);
    await eventually(async () => a.events.length > 0 && b.events.length > 0, 10_000);
    const sick = (l: typeof a) => (l.events[0].data.workers as Array<{ id: string; quarantine: { attempts: Array<Record<string, unknown>> } | null }>).find((w) => w.id === "sick-node")!;
    expect(sick(a).quarantine!.attempts[0]).toMatchObject({ trialId: attempt.trialId, message: attempt.message, reason: "crashed", ownTeam: true });
    expect(sick(b).quarantine!.attempts[0]).toMatchObject({ trialId: null, message: null, reason: "crashed", ownTeam: false });
    // A change to the node reaches each team's stream in that team's view.
    await s.db.worker.update({ where: { id: "sick-node" }, data: { concurrency: 2 } });
    const changed = (l: typeof a) => l.events.find((e) => e.type === "workers.changed" && e.data.workers.some((w: { id: string }) => w.id === "sick-node"));
    await eventually(async () => changed(a) && changed(b), 10_000);
    expect(JSON.stringify(changed(b)!.data)).not.toContain("secret");
    expect(JSON.stringify(changed(a)!.data)).toContain("secret");
    a.close();
    b.close();
  }, 30_000);
});

describe("fleetChange", () => {
  const w = (id: string, extra: Partial<WorkerRow> = {}): WorkerRow => ({ id, host: "h", pid: 1, gpus: [], backend: "fake", version: "1", concurrency: 1, status: "running", startedAt: new Date(0), lastHeartbeatAt: new Date(1000), alive: true, runningTrials: 0, ...extra }) as WorkerRow;
  it("tells state changes, heartbeats and removals apart, and nothing when nothing changed", () => {
    const before = new Map([["a", w("a")], ["b", w("b")], ["c", w("c")]]);
    expect(fleetChange(before, [w("a"), w("b"), w("c")])).toBeNull();
    const c = fleetChange(before, [w("a", { lastHeartbeatAt: new Date(4000) }), w("b", { runningTrials: 1, lastHeartbeatAt: new Date(4000) }), w("d")])!;
    expect(c.heartbeats).toEqual([{ id: "a", lastHeartbeatAt: new Date(4000) }]);
    expect(c.workers.map((x) => x.id)).toEqual(["b", "d"]);
    expect(c.removed).toEqual(["c"]);
    expect(fleetChange(before, [w("a", { alive: false }), w("b"), w("c")])!.workers.map((x) => x.id)).toEqual(["a"]);
  });
});
