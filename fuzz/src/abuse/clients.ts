/**
 * What the abuse cases send, and the bystander that checks the server still serves everyone
 * else meanwhile: /healthz, a RenderFrame and a new WebSocket session, each within 1 s.
 * Everything is loopback; every wait has a bound.
 */
import http2 from "node:http2";
import net from "node:net";
import { WebSocket } from "ws";
import { h2call } from "../grpc.js";
import type { GrpcAnswer } from "../framing.js";
import type { Step } from "../grpc.js";

/** How long a bystander's request may take: the bound. */
export const MEANWHILE_MS = 1000;

export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** A Connect unary call with a JSON body (what curl would send). Rejects on timeout or a connection error. */
export async function connectJson(base: string, method: string, message: object, timeoutMs = 5000): Promise<JsonAnswer> {
  const t0 = performance.now();
  const res = await fetch(`${base}/lipsync.v1.LipSyncService/${method}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(message), signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, ms: performance.now() - t0 };
}

/** One gRPC call on a fresh HTTP/2 connection (closed afterwards). */
export async function grpcOnce(base: string, method: string, steps: Step[], timeoutMs = 10_000): Promise<GrpcAnswer & { ms: number }> {
  const session = http2.connect(base);
  session.on("error", () => undefined);
  const t0 = performance.now();
  try {
    const answer = await h2call(session, {
      path: `/lipsync.v1.LipSyncService/${method}`, headers: { "content-type": "application/grpc+proto", te: "trailers" }, steps, mustAnswer: true, timeoutMs,
    });
    return { ...answer, ms: performance.now() - t0 };
  } finally {
    session.destroy();
  }
}

/** A new WebSocket session: resolves with the ms to "started", rejects with what happened instead. */
export function wsSessionStarts(base: string, timeoutMs = MEANWHILE_MS): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws`);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no session in ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000 })));
    ws.on("message", (m, binary) => {
      if (binary || (JSON.parse(m.toString()) as { type: string }).type !== "started") return;
      clearTimeout(timer);
      ws.close(1000);
      resolve(performance.now() - t0);
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`closed ${code} before the session started`));
    });
  });
}

export interface Meanwhile {
  healthz_ms: number | undefined;
  render_ms: number | undefined;
  session_ms: number | undefined;
  /** What did not succeed within MEANWHILE_MS. */
  failures: string[];
}

async function timed(what: string, failures: string[], job: () => Promise<number>): Promise<number | undefined> {
  try {
    const ms = await job();
    if (ms > MEANWHILE_MS) failures.push(`${what} took ${Math.round(ms)} ms`);
    return Math.round(ms);
  } catch (err) {
    failures.push(`${what}: ${(err as Error).message}`);
    return undefined;
  }
}

/** The bystander: /healthz, a RenderFrame of the demo avatar and a new session, at once. */
export async function meanwhile(base: string, frame: number): Promise<Meanwhile> {
  const failures: string[] = [];
  const [healthz_ms, render_ms, session_ms] = await Promise.all([
    timed("/healthz", failures, async () => {
      const t0 = performance.now();
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(MEANWHILE_MS * 2) });
      await res.text();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return performance.now() - t0;
    }),
    timed("RenderFrame", failures, async () => {
      const r = await connectJson(base, "RenderFrame", { avatar: "demo", index: frame }, MEANWHILE_MS * 2);
      if (r.status !== 200 || !(r.body.frame as { image?: string } | undefined)?.image) throw new Error(`status ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      return r.ms;
    }),
    timed("a new session", failures, () => wsSessionStarts(base, MEANWHILE_MS * 2)),
  ]);
  return { healthz_ms, render_ms, session_ms, failures };
}

/** Opens `n` TCP connections from local address `from`, `batch` at a time; each writes `first` if given. */
export async function openConnections(port: number, from: string, n: number, first?: string, batch = 100): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise<void>((resolve) => {
      const s = net.connect({ port, host: "127.0.0.1", localAddress: from });
      sockets.push(s);
      s.on("error", () => resolve());
      s.on("data", () => undefined);
      const timer = setTimeout(resolve, 5000);
      s.once("connect", () => {
        clearTimeout(timer);
        if (first) s.write(first);
        resolve();
      });
    })));
  }
  return sockets;
}

/** Resolves once `cond()` holds (polled every 50 ms), or after `ms` with false. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const until = performance.now() + ms; performance.now() < until; await new Promise((r) => setTimeout(r, 50))) if (cond()) return true;
  return cond();
}

/** ONNX Runtime's own words, which must never reach a client: its sources, C++ names, its log. */
export function runtimeText(message: string | undefined): string | undefined {
  if (!message) return undefined;
  const m = /onnxruntime|\.(?:h|hpp|cc|cpp|cu)(?::\d+)?\b|\w::\w|Status Message|was false\./.exec(message);
  return m ? message.slice(Math.max(0, m.index - 30), m.index + 60) : undefined;
}
