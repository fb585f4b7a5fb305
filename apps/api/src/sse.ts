/** A server-sent event stream on a hijacked reply: named events with JSON data, and a keep-alive comment. */
import type { FastifyReply } from "fastify";

export interface SseStream {
  send(event: string, data: unknown): void;
  /** Ends the stream (and runs the close callbacks once). */
  end(): void;
  /** Runs `fn` once when the stream ends, from either side (at once if it has ended). */
  onClose(fn: () => void): void;
}

export function openSse(reply: FastifyReply, keepAliveMs = 15_000): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), keepAliveMs);
  const callbacks: Array<() => void> = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const fn of callbacks) fn();
    res.end();
  };
  reply.request.raw.on("close", close);
  return {
    send(event, data) {
      if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end: close,
    onClose(fn) {
      if (closed) fn();
      else callbacks.push(fn);
    },
  };
}
