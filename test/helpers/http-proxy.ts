/**
 * An HTTP proxy in front of the API that records every request (method, path, Range header, status) and can
 * tamper with one answer: cut it after some bytes (the connection dies mid-body), stall it after some bytes (the
 * connection stays open, nothing more comes), or flip one byte of it.
 */
import http from "node:http";

export interface Seen {
  method: string;
  path: string;
  range?: string;
  status?: number;
}

export type Tamper = { cutAfter?: number; flipByteAt?: number; stallAfter?: number };

export interface HttpProxy {
  url: string;
  seen: Seen[];
  /** The next answer whose path matches gets `tamper` (once). */
  tamperNext(match: RegExp, tamper: Tamper): void;
  close(): Promise<void>;
}

export async function startHttpProxy(target: string): Promise<HttpProxy> {
  const t = new URL(target);
  const seen: Seen[] = [];
  const pending: Array<{ match: RegExp; tamper: Tamper }> = [];
  const server = http.createServer((req, res) => {
    const entry: Seen = { method: req.method!, path: req.url!, ...(req.headers.range ? { range: req.headers.range } : {}) };
    seen.push(entry);
    const i = pending.findIndex((p) => p.match.test(req.url!));
    const tamper = i >= 0 ? pending.splice(i, 1)[0]!.tamper : undefined;
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      entry.status = ur.statusCode;
      res.writeHead(ur.statusCode!, ur.headers);
      let sent = 0;
      ur.on("data", (chunk: Buffer) => {
        let out = chunk;
        if (tamper?.flipByteAt !== undefined && tamper.flipByteAt >= sent && tamper.flipByteAt < sent + chunk.length) {
          out = Buffer.from(chunk);
          out[tamper.flipByteAt - sent] ^= 0xff;
        }
        if (tamper?.cutAfter !== undefined && sent + out.length > tamper.cutAfter) {
          // The first part reaches the client, then the connection dies mid-body.
          ur.destroy();
          res.write(out.subarray(0, tamper.cutAfter - sent));
          res.socket?.end();
          return;
        }
        if (tamper?.stallAfter !== undefined && sent + out.length > tamper.stallAfter) {
          res.write(out.subarray(0, tamper.stallAfter - sent));
          ur.pause();
          ur.removeAllListeners("data");
          ur.removeAllListeners("end");
          return;
        }
        sent += out.length;
        res.write(out);
      });
      ur.on("end", () => res.end());
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    tamperNext: (match, tamper) => pending.push({ match, tamper }),
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
