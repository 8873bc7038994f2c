/** A real server on 127.0.0.1:0 over the shipped demo avatar, for integration tests. */
import { mkdtempSync, cpSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { WebSocket } from "ws";
import os from "node:os";
import path from "node:path";
import type { Avatar } from "../src/avatar/avatar.js";
import { AvatarRegistry } from "../src/avatar/registry.js";
import { resolveConfig } from "../src/config.js";
import { silentLogger } from "../src/logger.js";
import { startServer, type RunningServer, type StartOptions } from "../src/server.js";
import { MODELS_DIR } from "./reference.js";

export async function testServer(options: StartOptions = {}): Promise<RunningServer> {
  // A fixed capacity keeps tests that open several sessions independent of the machine's speed,
  // and a generous latency bound keeps a slow CI machine from dropping frames that tests count;
  // the admission and overload tests set their own.
  return startServer({
    port: 0, host: "127.0.0.1", avatarRoots: [MODELS_DIR], preloadAvatars: ["demo"], logger: silentLogger(), inferenceThreads: 2,
    sessionCapacity: 64, maxFrameLatencyMs: 60_000, ...options,
  });
}

/** A scratch avatar root holding a copy of the demo package, to break on purpose. */
export function scratchRoot(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-avatars-"));
  cpSync(path.join(MODELS_DIR, "demo"), path.join(dir, "demo"), { recursive: true });
  return dir;
}

/** 16-bit PCM of a speech-like signal (a buzzy vowel, amplitude-modulated at syllable rate). */
export function speechLikePcm(seconds: number, rate = 16000): Uint8Array {
  const n = Math.round(seconds * rate);
  const out = new Uint8Array(n * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    let x = 0;
    for (let h = 1; h <= 12; h++) x += Math.sin(2 * Math.PI * 140 * h * t) * Math.exp(-Math.abs(140 * h - 700) / 500) / h;
    v.setInt16(i * 2, Math.round(Math.max(-1, Math.min(1, x * env * 0.3)) * 32767), true);
  }
  return out;
}

/** The demo avatar loaded directly (no server), with the registry to close afterwards. */
export async function loadDemo(): Promise<{ registry: AvatarRegistry; avatar: Avatar }> {
  const registry = new AvatarRegistry(resolveConfig({ avatarRoots: [MODELS_DIR], inferenceThreads: 2 }), silentLogger());
  return { registry, avatar: await registry.get("demo") };
}

/** The status code an RPC failed with, or undefined when it succeeded. */
export async function codeOf(p: Promise<unknown>): Promise<Code | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** The /ws URL of a server at `base` (http://host:port). */
export const socketUrl = (base: string) => `${base.replace(/^http/, "ws")}/ws`;

export interface WsSessionOptions {
  headers?: Record<string, string>;
  protocols?: string[];
  avatar?: string;
  /** More fields of the start message (patch, ...). */
  start?: Record<string, unknown>;
}

/** Opens a WebSocket at `url` and starts a session: "started", or the close code and reason. */
export function wsSession(url: string, options: WsSessionOptions = {}): Promise<{ ws: WebSocket; started: boolean; code?: number; reason?: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    const timer = setTimeout(() => reject(new Error("no answer in 10 s")), 10_000);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", avatar: options.avatar ?? "demo", sample_rate: 16000, ...options.start })));
    ws.on("message", (m, binary) => {
      if (!binary && JSON.parse(m.toString()).type === "started") {
        clearTimeout(timer);
        resolve({ ws, started: true, protocol: ws.protocol });
      }
    });
    ws.on("error", () => undefined);
    ws.on("close", (code, reason) => {
      clearTimeout(timer);
      resolve({ ws, started: false, code, reason: reason.toString(), protocol: ws.protocol });
    });
  });
}
