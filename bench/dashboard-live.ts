/**
 * Responsiveness of the sweep page (bench/dashboard.ts, part 3): the same tab idle, then while the API's event
 * stream delivers 50 epoch events a second to the running trials.
 */
import { openPage, type Browsing } from "../apps/dashboard/test/browser.ts";
import { EPOCHS, type SeededSweep } from "./dashboard-seed.ts";

export interface Frames { frames: number[]; clicks: number[]; longTasks: number[] }
export interface Responsiveness { seconds: number; idle: Frames; busy: Frames; sent: number; applied: number; framesUsed: number }

/** `notify` publishes one event on the API's channel (pg_notify on EVENTS_CHANNEL). */
export async function measureResponsiveness(browsing: Browsing, url: string, s: SeededSweep, seconds: number, notify: (e: Record<string, unknown>) => Promise<void>): Promise<Responsiveness> {
  const p = await openPage(browsing);
  await p.context.addInitScript((key) => sessionStorage.setItem("hypersweep.apiKey", key), s.apiKey);
  // tsx names functions with a __name helper; the functions evaluated in the page need it there too.
  await p.context.addInitScript("window.__name = (f) => f");
  await p.page.goto(`${url}/#/sweeps/${s.sweepId}`);
  await p.page.waitForFunction(
    (n) => Number(document.querySelector<HTMLElement>("table[data-table=trials]")?.dataset.rows) === n && !!document.querySelector("tr[data-trial]") && Array.from(document.querySelectorAll("[data-chart]")).every((c) => c.hasAttribute("data-drawn")),
    s.trialCount,
    { timeout: 60_000 },
  );
  await p.page.evaluate(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => w.longTasks.push(e.duration))).observe({ type: "longtask" });
  });
  const measure = async (secs: number): Promise<Frames> =>
    p.page.evaluate(async (sec) => {
      const w = window as unknown as { longTasks: number[] };
      w.longTasks.length = 0;
      const frames: number[] = [];
      const clicks: number[] = [];
      let last = performance.now();
      const end = last + sec * 1000;
      const header = () => document.querySelector<HTMLButtonElement>("th:nth-child(10) button")!; // Val AUC
      const nextFrame = () => new Promise<number>((r) => requestAnimationFrame(() => r(performance.now())));
      let nextClick = last + 500;
      while (performance.now() < end) {
        const now = await nextFrame();
        frames.push(now - last);
        last = now;
        if (now >= nextClick) {
          const t0 = performance.now();
          header().click();
          await nextFrame();
          clicks.push(performance.now() - t0);
          last = performance.now();
          nextClick = last + 500;
        }
      }
      return { frames, clicks, longTasks: [...w.longTasks] };
    }, secs);
  const idle = await measure(seconds);
  const before = Number((await p.page.getAttribute("main", "data-live-events")) ?? 0);
  let sent = 0;
  const epochOf = new Map(s.running.map((id) => [id, 10]));
  const timer = setInterval(() => {
    const id = s.running[sent % s.running.length];
    const epoch = Math.min(EPOCHS, epochOf.get(id)! + 1);
    epochOf.set(id, epoch);
    sent++;
    notify({ type: "epoch.done", teamId: s.teamId, sweepId: s.sweepId, trialId: id, epoch, valLoss: 1.1 / epoch, valAuc: 1 - 0.5 / epoch, valF1: 0.9 - 0.4 / epoch }).catch(() => {});
  }, 20);
  const busy = await measure(seconds);
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 1000));
  const applied = Number((await p.page.getAttribute("main", "data-live-events")) ?? 0) - before;
  const framesUsed = Number((await p.page.getAttribute("main", "data-live-frames")) ?? 0);
  const problems = [...p.problems];
  await p.context.close();
  if (problems.length) throw new Error(`page problems: ${problems.join("; ")}`);
  return { seconds, idle, busy, sent, applied, framesUsed };
}
