/**
 * Headless Chromium for dashboard tests and the benchmark: Debian's chromium driven by playwright-core (no
 * browser download), with the flags that work as root on a closed network (playwright gives each launch a new,
 * empty profile). Every console error, page error and
 * failed request of a page is collected, so a test can assert there were none.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.HYPERSWEEP_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = resolve(import.meta.dirname, "../../../test-artifacts");

export interface Browsing {
  browser: Browser;
  close(): Promise<void>;
}

export async function launch(): Promise<Browsing> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set HYPERSWEEP_CHROMIUM)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught page errors, failed requests and dialogs, in order. */
  problems: string[];
  dialogs: string[];
}

export async function openPage(b: Browsing, viewport = { width: 1280, height: 800 }): Promise<WatchedPage> {
  const context = await b.browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // A trial without stored predictions has no curves: the optional resource answers 404, by design.
    if (/\/v1\/trials\/[\w-]+\/(curves|predictions)$/.test(m.location().url) && m.text().includes("404")) return;
    problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => {
    // Leaving a page aborts its event stream on purpose.
    if (!r.url().includes("/events")) problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return { page, context, problems, dialogs };
}

/** Signs in through the form (the key then lives in this tab's sessionStorage). */
export async function signIn(p: Page, baseUrl: string, key: string): Promise<void> {
  await p.goto(`${baseUrl}/`);
  await p.fill("#api-key", key);
  await p.click("button[type=submit]");
  await p.waitForSelector("header.top");
}

/** Goes to a route and waits until every chart on it is drawn. */
export async function visit(p: Page, baseUrl: string, route: string, ready: string): Promise<void> {
  await p.goto(`${baseUrl}/#${route}`);
  await p.waitForSelector(ready);
  await waitForCharts(p);
}

export async function waitForCharts(p: Page, timeout = 15_000): Promise<void> {
  await p.waitForFunction(() => Array.from(document.querySelectorAll("[data-chart]")).every((c) => c.hasAttribute("data-drawn")), null, { timeout });
}

export async function screenshot(p: Page, name: string): Promise<string> {
  const dir = join(ARTIFACTS, "screenshots");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await p.screenshot({ path, fullPage: true });
  return path;
}

/** The ECharts option of the chart named `name` on the page. */
export async function chartOption<T = any>(p: Page, name: string): Promise<T> {
  return p.evaluate((n) => {
    const host = document.querySelector(`[data-chart="${n}"]`) as (HTMLElement & { hsChart?: { getOption(): unknown } }) | null;
    if (!host?.hsChart) throw new Error(`no chart ${n}`);
    return JSON.parse(JSON.stringify(host.hsChart.getOption()));
  }, name) as Promise<T>;
}
