/** An HTTP/1.1 request as the fuzzer sends it (any method, headers and bytes), and its answer. */
import http from "node:http";
import net from "node:net";

export interface H1Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Send only this many bytes of the body, then drop the connection. */
  cutAt?: number;
  timeoutMs?: number;
}

export interface H1Answer {
  status?: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  timedOut: boolean;
  /** The connection failed before an answer (ECONNRESET, EPIPE, ...). */
  error?: string;
}

/** Answers are kept whole up to this (a gRPC-Web status comes last, after the frames). */
const MAX_KEEP = 32 * 1024 * 1024;

/** Sends `req` and collects the answer; never rejects. */
export function h1call(agent: http.Agent, url: URL, req: H1Request): Promise<H1Answer> {
  return new Promise((resolve) => {
    const answer: H1Answer = { headers: {}, body: Buffer.alloc(0), timedOut: false };
    let done = false;
    const chunks: Buffer[] = [];
    let kept = 0;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      answer.body = Buffer.concat(chunks);
      resolve(answer);
    };
    const cut = req.cutAt !== undefined;
    const onResponse = (res: http.IncomingMessage) => {
      answer.status = res.statusCode;
      answer.headers = res.headers;
      res.on("data", (d: Buffer) => {
        if (kept < MAX_KEEP) chunks.push(d);
        kept += d.length;
      });
      res.on("end", finish);
      res.on("error", (e: NodeJS.ErrnoException) => {
        answer.error ??= e.code ?? e.message;
        finish();
      });
      res.on("close", finish);
    };
    let r: http.ClientRequest;
    try {
      r = http.request({
        host: url.hostname, port: url.port, method: req.method, path: req.path, agent: cut ? false : agent,
        headers: { ...req.headers, ...(req.body && !cut ? { "content-length": String(req.body.length) } : {}) },
      }, onResponse);
    } catch (err) {
      // Node refuses to send some headers at all (invalid characters): nothing reached the server.
      answer.error = `not sent: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      resolve(answer);
      return;
    }
    const timer = setTimeout(() => {
      answer.timedOut = !cut;
      r.destroy();
      finish();
    }, req.timeoutMs ?? 5000);
    r.on("error", (e: NodeJS.ErrnoException) => {
      answer.error ??= e.code ?? e.message;
      // An answer may have come before the server closed on the rest of a body it refused.
      finish();
    });
    if (cut) {
      r.write(req.body!.subarray(0, req.cutAt));
      setTimeout(() => {
        r.destroy();
        finish();
      }, 20);
      return;
    }
    r.end(req.body);
  });
}

/** Raw bytes on a fresh TCP connection; the first line of whatever comes back within `ms`. */
export function rawCall(url: URL, bytes: Uint8Array, ms: number): Promise<{ firstLine: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let got = "";
    socket.on("data", (d) => (got += d.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("connect", () => socket.write(bytes));
    const t = setTimeout(() => {
      const closed = socket.closed || socket.readableEnded;
      socket.destroy();
      resolve({ firstLine: got.split("\r\n")[0]!, closed });
    }, ms);
    socket.on("close", () => {
      clearTimeout(t);
      resolve({ firstLine: got.split("\r\n")[0]!, closed: true });
    });
  });
}
