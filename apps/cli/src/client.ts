/** A small HTTP client for the Hypersweep API (the CLI speaks the same API as everyone else). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** Human-readable, one problem per line. */
  describe(): string {
    const lines = [`${this.message} (HTTP ${this.status} ${this.code})`];
    for (const i of this.issues) lines.push(`  - ${i.path}: ${i.message}`);
    return lines.join("\n");
  }
}

export interface ClientOptions {
  url: string;
  apiKey?: string;
}

export class HypersweepClient {
  constructor(readonly opts: ClientOptions) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.opts.url), {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "UNREACHABLE", `cannot reach the Hypersweep API at ${this.opts.url}: ${(err as Error).cause ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      // The connection died while the answer came: whether the server did the work is unknown.
      throw new ApiError(0, "UNREACHABLE", `the answer of the Hypersweep API at ${this.opts.url} was cut off: ${(err as Error).cause ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    let data: any = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    if (!res.ok) throw new ApiError(res.status, data?.error ?? "HTTP_ERROR", data?.message ?? String(text).slice(0, 200), data?.issues ?? []);
    return data as T;
  }

  /**
   * A request that is safe to send again because it carries an Idempotency-Key (the server creates once, answers
   * repeats with what it created): sent again, with the same key, while the API is unreachable or answers 502, 503
   * or 504, up to `tries` times in all, waiting 0.5 s doubling.
   */
  async requestIdempotent<T = any>(method: string, path: string, body: unknown, key: string, opts: { tries?: number; onRetry?: (err: ApiError, n: number) => void } = {}): Promise<T> {
    const tries = opts.tries ?? 5;
    for (let n = 1; ; n++) {
      try {
        return await this.request<T>(method, path, body, { "idempotency-key": key });
      } catch (err) {
        if (!(err instanceof ApiError) || ![0, 502, 503, 504].includes(err.status) || n >= tries) throw err;
        opts.onRetry?.(err, n);
        await new Promise((r) => setTimeout(r, 500 * 2 ** (n - 1)));
      }
    }
  }

  /** Server-sent events of a sweep, until the server ends the stream or `signal` aborts. */
  async *events(sweepId: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: any }> {
    const res = await fetch(new URL(`/v1/sweeps/${sweepId}/events`, this.opts.url), {
      headers: { accept: "text/event-stream", ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}) },
      signal,
    });
    if (!res.ok || !res.body) {
      const data = await res.json().catch(() => ({}));
      throw new ApiError(res.status, data?.error ?? "HTTP_ERROR", data?.message ?? `events: HTTP ${res.status}`);
    }
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let idx: number;
      while ((idx = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data) yield { event, data: JSON.parse(data) };
      }
    }
  }
}
