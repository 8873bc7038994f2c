/** A real server on 127.0.0.1:0 over the shipped demo avatar, for integration tests. */
import { mkdtempSync, cpSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Avatar } from "../src/avatar/avatar.js";
import { AvatarRegistry } from "../src/avatar/registry.js";
import { resolveConfig } from "../src/config.js";
import { silentLogger } from "../src/logger.js";
import { startServer, type RunningServer, type StartOptions } from "../src/server.js";
import { MODELS_DIR } from "./reference.js";

export async function testServer(options: StartOptions = {}): Promise<RunningServer> {
  // A fixed capacity keeps tests that open several sessions independent of the machine's speed;
  // the admission tests measure or set their own.
  return startServer({ port: 0, host: "127.0.0.1", avatarRoots: [MODELS_DIR], preloadAvatars: ["demo"], logger: silentLogger(), inferenceThreads: 2, sessionCapacity: 64, ...options });
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
