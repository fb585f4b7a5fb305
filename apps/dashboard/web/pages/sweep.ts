/**
 * Sweep: plan hash, seed and the stored spec; progress of each stage; the trials grid; per architecture the
 * heatmap, augmentation effect, learning curves and parallel coordinates. Live over SSE: events are queued and
 * applied once per animation frame (only the rows and series that changed).
 */
import { ApiError, get, post, stream } from "../api.ts";
import { initCharts } from "../charts.ts";
import { download, h, replace, setText } from "../dom.ts";
import { date, duration, pct } from "../format.ts";
import type { Page, PageContext } from "../page.ts";
import { facts, progressBar, statusBadge } from "./common.ts";
import { ArchitectureCharts } from "./sweep-charts.ts";
import type { SweepSpecView } from "./sweep-model.ts";
import { curvesFrom, emptyCurve, putEpoch, toCsv, type Curve, type SweepEpochs, type TrialRow } from "./sweep-model.ts";
import { TrialsGrid } from "./trials-grid.ts";

interface SweepView {
  id: string; name: string | null; status: string; datasetId: string; scenarioKey: string; preset: string; spec: SweepSpecView;
  seed: number; planHash: string; trialCount: number; counts: Record<string, number>; etaSeconds: number | null; createdAt: string; finishedAt: string | null;
  /** Why the sweep failed, else null. */
  error: string | null;
}

type Ev = { type: string; trialId?: string; epoch?: number; valLoss?: number; valAuc?: number | null; valF1?: number | null; attempt?: number; status?: string; selectionScore?: number | null; error?: string | null; stoppedEarlyAt?: number };

export function sweepPage(ctx: PageContext, id: string): Page {
  const abort = new AbortController();
  const rows = new Map<string, TrialRow>();
  let curves = new Map<string, Curve>();
  let sweep: SweepView;
  let grid: TrialsGrid;
  const charts = new Map<string, ArchitectureCharts>();
  const stageBox = h("div");
  const statusBox = h("span");
  const etaBox = h("span");
  const actions = h("div", { class: "toolbar" });
  const notice = h("p", { role: "status", class: "muted" });

  // Live updates: collected here, applied once per frame.
  const pending: Ev[] = [];
  let frame = 0;
  let refetchSweep: ReturnType<typeof setTimeout> | undefined;
  const refetchTrials = new Set<string>();

  const planned = (r: TrialRow) => (r.stage === "final" ? sweep.spec.finalEpochs : sweep.spec.searchEpochs);
  const archRows = (arch: string) => [...rows.values()].filter((r) => r.architecture === arch);

  function stageProgress(): HTMLElement {
    const parts = (["search", "final"] as const).map((stage) => {
      const rs = [...rows.values()].filter((r) => r.stage === stage);
      if (!rs.length) return null;
      const total = rs.reduce((s, r) => s + planned(r), 0);
      const done = rs.reduce((s, r) => s + (r.status === "queued" || r.status === "running" ? r.epochsDone : planned(r)), 0);
      const by = (st: string) => rs.filter((r) => r.status === st).length;
      return h(
        "div",
        { "data-stage": stage },
        h("h3", null, stage === "search" ? "Search" : "Final training"),
        progressBar(total ? done / total : 0, `${stage} epochs done`),
        h("p", { class: "muted" }, `${pct(total ? done / total : 0)} of epochs · ${by("succeeded")} succeeded, ${by("running")} running, ${by("queued")} queued, ${by("failed")} failed, ${by("cancelled")} cancelled`),
      );
    });
    return h("div", { class: "grid2" }, parts);
  }

  function renderActions(): void {
    const buttons: HTMLElement[] = [
      h("button", { class: "btn", type: "button", "data-action": "export-csv", onclick: () => download(`sweep-${id}-trials.csv`, "text/csv", toCsv(sorted())) }, "Export CSV"),
      h("button", { class: "btn", type: "button", "data-action": "export-json", onclick: () => download(`sweep-${id}-trials.json`, "application/json", JSON.stringify({ sweep, trials: sorted() }, null, 2)) }, "Export JSON"),
    ];
    if (ctx.canWrite) {
      const active = sweep.status === "queued" || sweep.status === "running";
      const search = [...rows.values()].filter((r) => r.stage === "search");
      const searchDone = search.length > 0 && search.every((r) => r.status !== "queued" && r.status !== "running");
      const hasFinal = [...rows.values()].some((r) => r.stage === "final");
      if (active) buttons.push(h("button", { class: "btn danger", type: "button", "data-action": "cancel", onclick: (e: Event) => act(e, "cancel", "Cancel this sweep? Queued trials never start; running ones stop.") }, "Cancel sweep"));
      if (searchDone && !hasFinal && sweep.status !== "cancelled") buttons.push(h("button", { class: "btn primary", type: "button", "data-action": "final", onclick: (e: Event) => act(e, "final", "Retrain each architecture's winner and score it on the test set?") }, "Start final training"));
    }
    replace(actions, buttons, notice);
  }

  async function act(e: Event, what: "cancel" | "final", question: string): Promise<void> {
    const btn = e.currentTarget as HTMLButtonElement;
    if (btn.dataset.confirm !== "1") {
      btn.dataset.confirm = "1";
      setText(btn, `Confirm: ${btn.textContent}`);
      setText(notice, question);
      return;
    }
    btn.disabled = true;
    try {
      await post(`/v1/sweeps/${id}/${what}`, what === "final" ? {} : undefined);
      setText(notice, what === "cancel" ? "Cancelled." : "Final training queued.");
      await reload();
      if (what === "final") follow();
    } catch (err) {
      setText(notice, err instanceof ApiError ? err.message : String(err));
      btn.disabled = false;
    }
  }

  const sorted = () => [...rows.values()].sort((a, b) => a.position - b.position);

  function header(): void {
    replace(statusBox, statusBadge(sweep.status), sweep.error ? h("span", { class: "muted", "data-sweep-error": sweep.id }, ` ${sweep.error}`) : null);
    setText(etaBox, sweep.status === "running" || sweep.status === "queued" ? duration(sweep.etaSeconds) : "–");
    replace(stageBox, stageProgress());
    renderActions();
  }

  async function reload(): Promise<void> {
    const [s, t] = await Promise.all([get<SweepView>(`/v1/sweeps/${id}`), get<{ trials: TrialRow[] }>(`/v1/sweeps/${id}/trials`)]);
    sweep = s;
    for (const r of t.trials) rows.set(r.id, r);
    grid?.update(t.trials.map((r) => r.id));
    for (const c of charts.values()) c.scoresChanged();
    header();
  }

  // The grid follows every frame; a chart redraw costs more (ECharts re-reads all its series), so new epochs
  // reach the learning curves at most every CURVES_MS.
  const CURVES_MS = 1000;
  const curveIds = new Map<string, Set<string>>();
  let curveTimer: ReturnType<typeof setTimeout> | undefined;
  function flushCurves(): void {
    curveTimer = undefined;
    for (const [arch, ids] of curveIds) charts.get(arch)?.curvesChanged([...ids]);
    curveIds.clear();
  }

  let applied = 0;
  let frames = 0;
  function apply(): void {
    frame = 0;
    // How many events were applied in how many frames (the benchmark reads these).
    applied += pending.length;
    ctx.main.dataset.liveEvents = String(applied);
    ctx.main.dataset.liveFrames = String(++frames);
    const changed = new Set<string>();
    let scores = new Set<string>();
    let headerDirty = false;
    for (const e of pending.splice(0)) {
      const r = e.trialId ? rows.get(e.trialId) : undefined;
      if (e.type === "snapshot") {
        sweep = { ...sweep, ...(e as unknown as SweepView) };
        headerDirty = true;
        continue;
      }
      if (e.type === "sweep.finished" || e.type === "sweep.created") {
        scheduleSweepRefetch(0);
        continue;
      }
      if (!r) {
        if (e.trialId) scheduleSweepRefetch(0); // a trial this page has not seen (a final training)
        continue;
      }
      if (e.type === "trial.started") {
        r.status = "running";
        r.attemptCount = Math.max(r.attemptCount, e.attempt ?? 1);
      } else if (e.type === "epoch.done") {
        if (r.status === "queued") r.status = "running";
        r.epochsDone = Math.max(r.epochsDone, e.epoch!);
        if (r.status === "running") Object.assign(r, { valLoss: e.valLoss, valAuc: e.valAuc, valF1: e.valF1 });
        let c = curves.get(r.id);
        if (!c) curves.set(r.id, (c = emptyCurve()));
        putEpoch(c, { epoch: e.epoch!, valLoss: e.valLoss ?? null, valAuc: e.valAuc ?? null, valF1: e.valF1 ?? null });
        let set = curveIds.get(r.architecture);
        if (!set) curveIds.set(r.architecture, (set = new Set()));
        set.add(r.id);
      } else if (e.type === "trial.finished") {
        r.status = e.status!;
        if (e.selectionScore !== undefined) r.selectionScore = e.selectionScore;
        if (e.error !== undefined) r.error = e.error;
        if (e.stoppedEarlyAt !== undefined) r.stoppedEarlyAt = e.stoppedEarlyAt;
        scores.add(r.architecture);
        refetchTrials.add(r.id);
      }
      changed.add(r.id);
      headerDirty = true;
    }
    grid.update(changed);
    if (curveIds.size && !curveTimer) curveTimer = setTimeout(flushCurves, CURVES_MS);
    for (const arch of scores) charts.get(arch)?.scoresChanged();
    if (headerDirty) header();
    if (refetchTrials.size) scheduleTrialRefetch();
    scores = new Set();
  }

  function onEvent(type: string, data: unknown): void {
    pending.push({ ...(data as Ev), type });
    if (!frame) frame = requestAnimationFrame(apply);
  }

  function scheduleSweepRefetch(ms: number): void {
    clearTimeout(refetchSweep);
    refetchSweep = setTimeout(() => void reload().catch(() => {}), ms);
  }

  let trialTimer: ReturnType<typeof setTimeout> | undefined;
  /** A finished trial's full record (result metrics, training losses): fetched in batches, at most every 500 ms. */
  function scheduleTrialRefetch(): void {
    if (trialTimer) return;
    trialTimer = setTimeout(async () => {
      trialTimer = undefined;
      const ids = [...refetchTrials];
      refetchTrials.clear();
      const full = await Promise.all(ids.map((t) => get<TrialRow & { epochs: Array<{ epoch: number; trainLoss: number; valLoss: number; valAuc: number | null; valF1: number | null }> }>(`/v1/trials/${t}`).catch(() => null)));
      const archs = new Set<string>();
      for (const t of full) {
        if (!t || abort.signal.aborted) continue;
        const { epochs, ...row } = t;
        const r = rows.get(t.id);
        if (r) for (const k of Object.keys(r) as Array<keyof TrialRow>) (r as unknown as Record<string, unknown>)[k] = row[k];
        const c = emptyCurve();
        for (const e of epochs) putEpoch(c, e);
        curves.set(t.id, c);
        archs.add(t.architecture);
      }
      if (abort.signal.aborted) return;
      grid.update(ids);
      for (const a of archs) {
        charts.get(a)?.curvesChanged(ids.filter((i) => rows.get(i)?.architecture === a));
        charts.get(a)?.scoresChanged();
      }
      header();
    }, 500);
  }

  function follow(): void {
    void stream(`/v1/sweeps/${id}/events`, onEvent, abort.signal);
  }

  return {
    async render() {
      // Every epoch of every trial is the largest answer: the page draws everything else while it arrives.
      const epochs = get<SweepEpochs>(`/v1/sweeps/${id}/epochs`);
      epochs.catch(() => {});
      const [s, t] = await Promise.all([get<SweepView>(`/v1/sweeps/${id}`), get<{ trials: TrialRow[] }>(`/v1/sweeps/${id}/trials`)]);
      sweep = s;
      for (const r of t.trials) rows.set(r.id, r);
      const dsLink = h("a", { href: `#/datasets/${encodeURIComponent(s.datasetId)}` }, s.datasetId.slice(0, 8));
      void get<{ name: string }>(`/v1/datasets/${s.datasetId}`).then((d) => setText(dsLink, d.name), () => {});
      grid = new TrialsGrid(rows, planned, s.spec.architectures);
      for (const arch of s.spec.architectures) charts.set(arch, new ArchitectureCharts(arch, s.spec, () => archRows(arch), (tid) => curves.get(tid)));
      replace(
        ctx.main,
        h("p", { class: "muted" }, h("a", { href: "#/sweeps" }, "Sweeps"), " / "),
        h("h1", null, s.name ?? `Sweep ${s.id.slice(0, 8)}`),
        h(
          "section",
          { class: "card" },
          facts([
            ["Status", statusBox],
            ["Dataset", dsLink],
            ["Scenario", s.scenarioKey],
            ["Architectures", s.spec.architectures.join(", ")],
            ["Plan hash", h("code", { "data-field": "plan-hash" }, s.planHash)],
            ["Seed", h("span", { "data-field": "seed" }, String(s.seed))],
            ["Preset", s.preset],
            ["Decided by", `validation ${s.spec.selectionMetric.toUpperCase()}`],
            ["Created", date(s.createdAt)],
            ["ETA", etaBox],
            ["Leaderboard", h("a", { href: `#/leaderboard/${encodeURIComponent(s.datasetId)}` }, "best per architecture")],
          ]),
          stageBox,
          actions,
          h("details", null, h("summary", null, "Stored spec (preset + overrides)"), h("pre", { "data-field": "spec" }, JSON.stringify(s.spec, null, 2))),
        ),
        h("section", { class: "card" }, h("h2", null, "Trials"), grid.el),
        [...charts.values()].map((c) => c.el),
      );
      header();
      if (s.status === "queued" || s.status === "running") follow();
      // The grid is painted before the charts take the main thread.
      await new Promise((painted) => requestAnimationFrame(() => setTimeout(painted, 0)));
      if (abort.signal.aborted) return;
      initCharts(ctx.main);
      for (const c of charts.values()) c.drawScores();
      const fetched = curvesFrom(await epochs);
      // Epochs that arrived over SSE meanwhile may be newer than the answer: keep them.
      for (const [tid, c] of curves) {
        const into = fetched.get(tid) ?? emptyCurve();
        c.epoch.forEach((ep, i) => {
          if (!into.epoch.includes(ep)) putEpoch(into, { epoch: ep, trainLoss: c.trainLoss[i], valLoss: c.valLoss[i], valAuc: c.valAuc[i], valF1: c.valF1[i] });
        });
        fetched.set(tid, into);
      }
      curves = fetched;
      for (const c of charts.values()) c.drawCurves();
    },
    dispose() {
      abort.abort();
      cancelAnimationFrame(frame);
      clearTimeout(refetchSweep);
      clearTimeout(trialTimer);
      clearTimeout(curveTimer);
    },
  };
}
