/**
 * A real LiveKit server for tests: `livekit-server --dev` on free loopback ports (signalling
 * HTTP/WebSocket, RTC over TCP, one UDP port for every peer), node IP 127.0.0.1, started and
 * waited for with a timeout, stopped with SIGTERM then SIGKILL. The binary comes from
 * scripts/livekit-server.sh (built from the Go module proxy, cached by version), or from
 * LIVEKIT_SERVER_BIN.
 *
 *   const lk = await startLiveKitServer();
 *   const token = await mintToken(lk, { room: "r", identity: "agent", kind: "agent" });
 *   ... lk.url (ws://127.0.0.1:PORT) ...
 *   await lk.stop();
 *
 * Python and other processes use the same through e2e/livekit-cli.ts (docs/livekit.md, "Tests").
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer as createTcpServer } from "node:net";
import { createSocket } from "node:dgram";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** --dev's fixed credentials. */
export const DEV_API_KEY = "devkey";
export const DEV_API_SECRET = "secret";

export interface LiveKitServer {
  /** ws://127.0.0.1:PORT: what clients and SDKs connect to. */
  url: string;
  /** http://127.0.0.1:PORT: the same port, for RoomService (Twirp) calls. */
  httpUrl: string;
  apiKey: string;
  apiSecret: string;
  ports: { http: number; rtcTcp: number; udp: number };
  pid: number;
  /** Everything the server wrote (its log), for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Give up waiting for the server to answer after this long, ms (default 30 s). */
  timeoutMs?: number;
  /** livekit-server's log level (default "warn"; "debug" shows ICE). */
  logLevel?: string;
  /** The binary; default LIVEKIT_SERVER_BIN, else the cached build of scripts/livekit-server.sh. */
  binary?: string;
}

/**
 * Where the binary is, building it if needed (a few minutes, once per version). Returns
 * undefined with the reason when it cannot be had (no Go toolchain), for a test to skip on.
 */
export function liveKitServerBinary(): { path: string } | { missing: string } {
  const fromEnv = process.env.LIVEKIT_SERVER_BIN;
  if (fromEnv) return existsSync(fromEnv) ? { path: fromEnv } : { missing: `LIVEKIT_SERVER_BIN=${fromEnv} does not exist` };
  const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/livekit-server.sh")], { encoding: "utf8", timeout: 30 * 60_000 });
  const bin = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !existsSync(bin)) return { missing: `scripts/livekit-server.sh failed: ${(r.stderr || r.error?.message || "").trim().slice(-400)}` };
  return { path: bin };
}

/** A port free on 127.0.0.1 now, for TCP or UDP (the kernel picks it; a race is retried by start). */
async function freePort(kind: "tcp" | "udp"): Promise<number> {
  if (kind === "udp") {
    const s = createSocket("udp4");
    await new Promise<void>((resolve, reject) => s.once("error", reject).bind(0, "127.0.0.1", () => resolve()));
    const port = s.address().port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  }
  const srv = createTcpServer();
  await new Promise<void>((resolve, reject) => srv.once("error", reject).listen(0, "127.0.0.1", () => resolve()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function configYaml(ports: LiveKitServer["ports"], logLevel: string): string {
  // Loopback only: bound to 127.0.0.1, ICE candidates on 127.0.0.1 (node_ip, loopback candidates
  // on), no STUN or external IP discovery, one UDP port muxing every peer.
  return [
    `port: ${ports.http}`,
    "bind_addresses: [127.0.0.1]",
    "rtc:",
    `  tcp_port: ${ports.rtcTcp}`,
    `  udp_port: ${ports.udp}`,
    "  node_ip: 127.0.0.1",
    "  use_external_ip: false",
    "  enable_loopback_candidate: true",
    "room:",
    "  sync_streams: true",
    "logging:",
    `  level: ${logLevel}`,
    "",
  ].join("\n");
}

/** Answers once the server's HTTP port says it is up, or throws after `timeoutMs`. */
async function waitUntilUp(httpUrl: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`livekit-server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output().slice(-2000)}`);
    }
    try {
      const r = await fetch(httpUrl, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`livekit-server did not answer on ${httpUrl} within ${timeoutMs} ms:\n${output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts livekit-server --dev on free loopback ports; rejects (and leaves nothing running) on failure. */
export async function startLiveKitServer(options: StartOptions = {}): Promise<LiveKitServer> {
  const binary = options.binary ?? (() => {
    const b = liveKitServerBinary();
    if ("missing" in b) throw new Error(b.missing);
    return b.path;
  })();
  let lastError: unknown;
  // A port picked free can be taken before the server binds it: try again with new ones.
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = { http: await freePort("tcp"), rtcTcp: await freePort("tcp"), udp: await freePort("udp") };
    const child = spawn(binary, ["--dev", "--config-body", configYaml(ports, options.logLevel ?? "warn")], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    const keep = (b: Buffer) => {
      log += b.toString();
      if (log.length > 200_000) log = log.slice(-100_000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.on("error", (e) => (log += `\nspawn error: ${e.message}`));
    const httpUrl = `http://127.0.0.1:${ports.http}`;
    try {
      await waitUntilUp(httpUrl, child, options.timeoutMs ?? 30_000, () => log);
    } catch (e) {
      await stopChild(child);
      lastError = e;
      if (/address already in use/i.test(log)) continue;
      throw e;
    }
    return {
      url: `ws://127.0.0.1:${ports.http}`, httpUrl, apiKey: DEV_API_KEY, apiSecret: DEV_API_SECRET, ports, pid: child.pid!,
      output: () => log,
      stop: () => stopChild(child),
    };
  }
  throw lastError;
}
