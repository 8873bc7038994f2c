/**
 * Graceful shutdown of the real `lipsync serve` process: SIGTERM turns readiness NOT_SERVING at
 * once (kept-alive HTTP/1.1 connections see it), refuses new sessions, lets a running utterance
 * finish, ends the rest with "going away" (WebSocket 1001, gRPC UNAVAILABLE) and exits 0; a
 * second SIGTERM exits at once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLipSyncClient } from "@lipsync/client/node";
import { WebSocket } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../src/static-mounts.js";
import { speechLikePcm } from "./harness.js";

const CLI = path.join(REPO_ROOT, "packages", "server", "src", "cli.ts");

interface Served {
  proc: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; ms: number }>;
  /** performance.now() of the last signal sent. */
  signalledAt: number;
}

const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});

/** Starts `lipsync serve` on a free port; resolves with its URL once it listens. */
function serve(args: string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", CLI, "serve", "--port", "0", "--host", "127.0.0.1", "--capacity", "8", "--log-level", "warn", ...args], {
      cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"],
    });
    procs.push(proc);
    const served: Partial<Served> = { proc, signalledAt: 0 };
    served.exited = new Promise((r) => proc.on("exit", (code) => r({ code, ms: performance.now() - served.signalledAt! })));
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s: ${err}`)), 60_000);
    proc.stderr!.on("data", (d) => (err += d));
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /open (http:\/\/[^/\s]+)\//.exec(out);
      if (m && !served.url) {
        clearTimeout(timer);
        served.url = m[1]!;
        resolve(served as Served);
      }
    });
    proc.on("exit", () => reject(new Error(`server exited early: ${err}`)));
  });
}

function signal(s: Served): void {
  s.signalledAt = performance.now();
  s.proc.kill("SIGTERM");
}

/** A WebSocket session that records its messages' types and how it closed. */
function session(url: string): Promise<{ ws: WebSocket; types: string[]; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/ws`);
    const types: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on("close", (code, reason) => r({ code, reason: reason.toString() })));
    const timer = setTimeout(() => reject(new Error("no session in 10 s")), 10_000);
    ws.on("error", () => undefined);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000, frames: "binary", patch: true })));
    ws.on("message", (m, binary) => {
      if (binary) return;
      const type = JSON.parse(m.toString()).type as string;
      types.push(type);
      if (type === "started") {
        clearTimeout(timer);
        resolve({ ws, types, closed });
      }
    });
    void closed.then((c) => reject(new Error(`closed before start: ${c.code} ${c.reason}`)));
  });
}

function sendAudio(ws: WebSocket, seconds: number): void {
  const pcm = speechLikePcm(seconds);
  for (let i = 0; i < pcm.length; i += 6400) ws.send(Buffer.concat([Buffer.from([0x01]), Buffer.from(pcm.subarray(i, i + 6400))]));
}

/** GET over one kept-alive HTTP/1.1 connection: the status, and whether the socket was reused. */
function get(agent: http.Agent, url: string): Promise<{ status: number; reused: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, body }));
    });
    req.on("error", reject);
  });
}

describe("lipsync serve on SIGTERM", () => {
  it("drains: readiness goes at once, the running utterance finishes, the rest go away with 1001, exit 0", async () => {
    const s = await serve(["--drain-seconds", "20"]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(agent, `${s.url}/readyz`)).status).toBe(200);

    const speaking = await session(s.url);
    const idle = await session(s.url);
    sendAudio(speaking.ws, 10);
    speaking.ws.send(JSON.stringify({ type: "end" }));
    await expect.poll(() => speaking.types.includes("speech_started"), { timeout: 10_000 }).toBe(true);
    // 250 frames to render: still speaking when the signal comes.
    expect(speaking.types).not.toContain("speech_ended");

    signal(s);
    // The same kept-alive connection: it answered 200 before, now 503 (once the signal is handled).
    let ready = await get(agent, `${s.url}/readyz`);
    for (let i = 0; i < 100 && ready.status === 200; i++) ready = await get(agent, `${s.url}/readyz`);
    expect(ready).toMatchObject({ status: 503, reused: true });
    expect(JSON.parse(ready.body)).toMatchObject({ ready: false, reason: "shutting down" });

    const [a, b] = await Promise.all([speaking.closed, idle.closed]);
    // The utterance was let finish before its socket went away.
    expect(speaking.types).toContain("speech_ended");
    expect(a.code).toBe(1001);
    expect(b.code).toBe(1001);
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    // Well before the 20 s deadline: it waited for the utterance, not the clock.
    expect(exit.ms).toBeLessThan(15_000);
    agent.destroy();
  });

  it("ends a Speak still speaking at the deadline with UNAVAILABLE", async () => {
    const s = await serve(["--drain-seconds", "1"]);
    const client = createLipSyncClient({ baseUrl: s.url, protocol: "grpc" });
    const speak = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } });
    const pcm = speechLikePcm(1);
    let err: unknown;
    const reading = (async () => {
      try {
        for await (const e of speak.events) {
          if (e.type === "started") {
            // An utterance that never ends: audio keeps coming, no end.
            for (let i = 0; i < 30; i++) speak.pushAudio(pcm);
            signal(s);
          }
        }
      } catch (e) {
        err = e;
      }
    })();
    await reading;
    expect(ConnectError.from(err).code).toBe(Code.Unavailable);
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(8000);
  });

  it("exits at once on a second SIGTERM", async () => {
    const s = await serve(["--drain-seconds", "60"]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(agent, `${s.url}/readyz`)).status).toBe(200);
    const speaking = await session(s.url);
    sendAudio(speaking.ws, 30);
    await expect.poll(() => speaking.types.includes("speech_started"), { timeout: 10_000 }).toBe(true);
    signal(s);
    // Draining (the utterance may take 60 s): a second signal cuts it short.
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) status = (await get(agent, `${s.url}/readyz`)).status;
    expect(status).toBe(503);
    expect(s.proc.exitCode).toBeNull();
    signal(s);
    const exit = await s.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.ms).toBeLessThan(2000);
    agent.destroy();
  });
});
