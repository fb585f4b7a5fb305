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
    const text = await res.text();
    let data: any = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    if (!res.ok) throw new ApiError(res.status, data?.error ?? "HTTP_ERROR", data?.message ?? String(text).slice(0, 200), data?.issues ?? []);
    return data as T;
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
