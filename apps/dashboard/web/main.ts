/** The dashboard shell: sign-in with an API key, the navigation, and a hash router over the pages. */
import "./style.css";
import { ApiError, forgetKey, signIn, storedKey, storeKey, whenUnauthorized, type Session } from "./api.ts";
import { disposeCharts } from "./charts.ts";
import { h, replace } from "./dom.ts";
import type { Page, PageContext } from "./page.ts";
import { sweepsPage } from "./pages/sweeps.ts";
import { sweepPage } from "./pages/sweep.ts";
import { trialPage } from "./pages/trial.ts";
import { leaderboardPage } from "./pages/leaderboard.ts";
import { datasetsPage } from "./pages/datasets.ts";
import { fleetPage } from "./pages/fleet.ts";

const app = document.getElementById("app")!;
let session: Session | null = null;
let current: { page: Page; root: HTMLElement } | null = null;

const ROUTES: Array<[RegExp, (m: string[], ctx: PageContext) => Page, string]> = [
  [/^\/sweeps\/([\w-]+)$/, (m, c) => sweepPage(c, m[1]), "sweeps"],
  [/^\/trials\/([\w-]+)$/, (m, c) => trialPage(c, m[1]), "sweeps"],
  [/^\/leaderboard(?:\/([^/]+))?(?:\/(tfjs|pytorch))?$/, (m, c) => leaderboardPage(c, m[1] ? decodeURIComponent(m[1]) : undefined, m[2]), "leaderboard"],
  [/^\/datasets(?:\/([^/]+))?$/, (m, c) => datasetsPage(c, m[1] ? decodeURIComponent(m[1]) : undefined), "datasets"],
  [/^\/fleet$/, (_m, c) => fleetPage(c), "fleet"],
  [/^\/(?:sweeps)?$/, (_m, c) => sweepsPage(c), "sweeps"],
];

const NAV: Array<[string, string, string]> = [
  ["sweeps", "#/sweeps", "Sweeps"],
  ["leaderboard", "#/leaderboard", "Leaderboard"],
  ["datasets", "#/datasets", "Datasets"],
  ["fleet", "#/fleet", "Fleet"],
];

function leave(): void {
  if (!current) return;
  current.page.dispose?.();
  disposeCharts(current.root);
  current = null;
}

function route(): void {
  if (!session) return showSignIn();
  leave();
  const path = location.hash.replace(/^#/, "") || "/";
  const match = ROUTES.map(([re, make, nav]) => ({ m: re.exec(path), make, nav })).find((r) => r.m);
  const main = h("main", { id: "main", tabindex: "-1" });
  const ctx: PageContext = { session, main, canWrite: session.scope === "write" };
  replace(app, shell(match?.nav ?? ""), main);
  if (!match?.m) {
    replace(main, h("h1", null, "Not found"), h("p", null, "No page at ", h("code", null, path), ". ", h("a", { href: "#/sweeps" }, "Go to sweeps")));
    return;
  }
  const page = match.make(match.m, ctx);
  current = { page, root: main };
  page.render().catch((err: unknown) => {
    if (current?.page !== page) return;
    replace(main, h("h1", null, "Something went wrong"), h("p", { class: "error", role: "alert" }, err instanceof Error ? err.message : String(err)));
  });
}

function shell(active: string): HTMLElement {
  return h(
    "header",
    { class: "top" },
    h("span", { class: "brand" }, "Hypersweep"),
    h("nav", { "aria-label": "Main" }, NAV.map(([id, href, label]) => h("a", { href, "aria-current": id === active ? "page" : null }, label))),
    h(
      "div",
      { class: "who" },
      h("span", null, session!.team.name),
      h("span", { class: "badge", "data-scope": session!.scope, title: session!.scope === "read" ? "read-only key: no cancel or final training" : "read and write" }, session!.scope === "read" ? "read-only" : "read & write"),
      h("button", { class: "btn", type: "button", onclick: signOut }, "Sign out"),
    ),
  );
}

function signOut(): void {
  forgetKey();
  session = null;
  leave();
  showSignIn();
}

function showSignIn(message?: string): void {
  leave();
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true, placeholder: "hs_…", "aria-describedby": "key-help" });
  const status = h("p", { role: "status" }, message ? h("span", { class: "error" }, message) : null);
  const form = h(
    "form",
    {
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const key = input.value.trim();
        try {
          session = await signIn(key);
          storeKey(key);
          route();
        } catch (err) {
          replace(status, h("span", { class: "error" }, err instanceof ApiError && err.status === 401 ? "That key was not accepted." : `Could not sign in: ${(err as Error).message}`));
        }
      },
    },
    h("label", { for: "api-key" }, "API key"),
    input,
    h("p", { id: "key-help", class: "muted" }, "Kept in this tab only (sessionStorage) and sent as a bearer header. A read-only key shows everything and changes nothing."),
    h("button", { class: "btn primary", type: "submit" }, "Sign in"),
    status,
  );
  replace(app, h("main", { id: "main" }, h("div", { class: "card signin" }, h("h1", null, "Hypersweep"), form)));
  input.focus();
}

whenUnauthorized(() => {
  if (!session) return;
  forgetKey();
  session = null;
  showSignIn("The key is no longer accepted; sign in again.");
});

window.addEventListener("hashchange", () => {
  route();
  document.getElementById("main")?.focus({ preventScroll: true });
});

async function start(): Promise<void> {
  const key = storedKey();
  if (key) {
    try {
      session = await signIn(key);
    } catch {
      forgetKey();
    }
  }
  route();
}
void start();
