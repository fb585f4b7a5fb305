/**
 * The API client: the key lives in sessionStorage (gone when the tab closes) and travels only as a bearer
 * header, never in a URL. Server-sent events are read with fetch (EventSource cannot send a header).
 */
const KEY = "hypersweep.apiKey";

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
  }
}

export interface Session {
  team: { id: string; name: string };
  scope: "read" | "write";
}

export const storedKey = (): string | null => sessionStorage.getItem(KEY);
export const storeKey = (key: string): void => sessionStorage.setItem(KEY, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY);

let onUnauthorized: () => void = () => {};
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

/**
 * A request public/early.js started for this path and key before the bundle loaded, taken once; none after the
 * first seconds of the page (a later visit asks afresh).
 */
function early(path: string, key: string | null): Promise<Response> | undefined {
  const started = (window as unknown as { hypersweepEarly?: Record<string, { key: string; response: Promise<Response> }> }).hypersweepEarly;
  const e = started?.[path];
  if (!e) return undefined;
  delete started![path];
  return e.key === key && performance.now() < 15_000 ? e.response : undefined;
}

async function call<T>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const res = await ((method === "GET" && early(path, key)) || fetch(path, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }));
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const e = (json ?? {}) as { message?: string; error?: string };
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, e.message ?? `${method} ${path}: HTTP ${res.status}`, e.error);
  }
  return json as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => call<T>("POST", path, body);
export const signIn = (key: string) => call<Session>("GET", "/v1/me", undefined, key);

let routes: Promise<Set<string>> | null = null;
/** Whether this API serves a route (from its OpenAPI document, read once), e.g. "/v1/trials/{id}/curves". */
export async function hasRoute(path: string): Promise<boolean> {
  routes ??= fetch("/openapi.json")
    .then((r) => (r.ok ? r.json() : { paths: {} }))
    .then((doc: { paths?: Record<string, unknown> }) => new Set(Object.keys(doc.paths ?? {})))
    .catch(() => new Set<string>());
  return (await routes).has(path);
}

/** GET that answers null for 404 (optional resources, e.g. a trial's stored predictions). */
export async function getOptional<T>(path: string): Promise<T | null> {
  try {
    return await get<T>(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export interface StreamOptions {
  /** The event after which the stream ends for good (a sweep's stream: sweep.finished); null: never. */
  endOn?: string | null;
  /** Told whether the stream is connected (true once the server answered, false while reconnecting). */
  onState?: (connected: boolean) => void;
}

/**
 * Follows an SSE stream until `signal` aborts; reconnects after a dropped connection (the server sends a
 * snapshot first, so nothing is missed). Returns when the stream ends for good (the sweep finished).
 */
export async function stream(path: string, onEvent: (type: string, data: unknown) => void, signal: AbortSignal, opts: StreamOptions = {}): Promise<void> {
  const endOn = opts.endOn === undefined ? "sweep.finished" : opts.endOn;
  let delay = 500;
  while (!signal.aborted) {
    let finished = false;
    try {
      const res = await fetch(path, { headers: { authorization: `Bearer ${storedKey() ?? ""}`, accept: "text/event-stream" }, signal });
      if (!res.ok || !res.body) throw new ApiError(res.status, `events: HTTP ${res.status}`);
      delay = 500;
      opts.onState?.(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let type = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (!data.length) continue;
          if (endOn && type === endOn) finished = true;
          onEvent(type, JSON.parse(data.join("\n")));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return;
    }
    if (finished || signal.aborted) return;
    opts.onState?.(false);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}
