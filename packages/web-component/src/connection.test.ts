/** The player's connection with fake SDK, socket and timers: loading, retries, sessions, barge-in. */
import { describe, expect, it } from "vitest";
import type { SpeechEvent } from "@lipsync/client";
import type { ConnectionDeps } from "./connection-deps.js";
import { PlayerConnection, type ConnectionEvents } from "./connection.js";
import { MediaClock } from "./media-clock.js";
import { PerfMonitor } from "./perf.js";
import { FrameQueue } from "./stage.js";

class FakeSocket {
  sent: Uint8Array[] = [];
  calls: string[] = [];
  closed: { code: number } | undefined;
  started: { avatar: string; sampleRate: number; patch?: boolean } | undefined;
  private events: ((e: SpeechEvent) => void)[] = [];
  private closers: ((e: { code: number; reason: string }) => void)[] = [];
  onEvent(l: (e: SpeechEvent) => void) {
    this.events.push(l);
    return () => undefined;
  }
  onClose(l: (e: { code: number; reason: string }) => void) {
    this.closers.push(l);
    return () => undefined;
  }
  async start(o: { avatar: string; sampleRate: number; patch?: boolean }) {
    this.started = o;
    return { type: "started" as const, sessionId: "s1", samplesPerFrame: 640, clockRate: 16000 };
  }
  pushAudio(pcm: Uint8Array) {
    this.sent.push(pcm);
  }
  end() {
    this.calls.push("end");
  }
  clear() {
    this.calls.push("clear");
  }
  close() {
    this.calls.push("close");
  }
  /** The server closes the socket. */
  drop(code: number, reason: string) {
    this.closed = { code };
    for (const l of this.closers) l({ code, reason } as never);
  }
}

function setup(options: { avatarFails?: number; fps?: number } = {}) {
  let failures = options.avatarFails ?? 0;
  const timers: { fn: () => void; ms: number }[] = [];
  const sockets: FakeSocket[] = [];
  const log: string[] = [];
  const deps: ConnectionDeps = {
    createClient: () => ({
      getAvatar: async () => {
        if (failures-- > 0) throw new Error("server unreachable");
        return { avatar: { frameCount: 3, fps: options.fps ?? 25, width: 64, height: 48, model: { lookaheadFrames: 2 } } } as never;
      },
      sourceFrame: async (_a: string, i: number) => ({ image: Uint8Array.of(i) }) as never,
    }),
    connectSocket: async () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s as never;
    },
    decodeImage: async (bytes) => ({ byte: bytes[0], close: () => undefined }) as never,
    setTimeout: (fn, ms) => timers.push({ fn, ms }),
    clearTimeout: () => undefined,
    origin: () => "http://page.test",
  };
  const events: ConnectionEvents = {
    loading: () => log.push("loading"),
    ready: (a) => log.push(`ready ${a.frames.length} ${a.width}x${a.height}`),
    error: (e) => log.push(`error ${(e as Error).message}`),
    interrupted: () => log.push("interrupted"),
  };
  // A clock whose audio context exists (Node has no Web Audio): sound is scheduled nowhere.
  const clock = new MediaClock();
  const output = { scheduledUntil: 0, schedule: () => 0, begin: () => undefined, stop: () => log.push("silenced") };
  Object.assign(clock, { audio: async () => ({ sampleRate: 48000 }), now: () => 0 });
  Object.defineProperty(clock, "output", { get: () => output });
  const frames = new FrameQueue();
  const conn = new PlayerConnection({ server: "http://server.test", avatar: "demo", token: "" }, clock, frames, new PerfMonitor(), events, { deps });
  return { conn, timers, sockets, log, frames };
}

describe("player connection", () => {
  it("loads the avatar's frames and frame length, then says it is ready", async () => {
    const { conn, log, frames } = setup({ fps: 20 });
    await conn.load();
    expect(log).toEqual(["loading", "ready 3 64x48"]);
    expect(frames.samplesPerFrame).toBe(800);
  });

  it("retries a failed load with doubling delays, and starts again from the first after a success", async () => {
    const { conn, timers, log } = setup({ avatarFails: 3 });
    await conn.load();
    for (let i = 0; i < 3; i++) {
      expect(timers.length).toBe(i + 1);
      await (async () => timers[i]!.fn())();
      await new Promise((r) => setTimeout(r));
    }
    expect(timers.map((t) => t.ms)).toEqual([500, 1000, 2000]);
    expect(log.filter((l) => l.startsWith("error"))).toHaveLength(3);
    expect(log.at(-1)).toBe("ready 3 64x48");
  });

  it("streams pushed audio over one session at its rate, as PCM16 mouth-patch frames", async () => {
    const { conn, sockets } = setup();
    await conn.load();
    await conn.pushAudio(new Float32Array(480).fill(0.5), 48000);
    await conn.pushAudio(new Float32Array(480).fill(-0.5), 48000);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.started).toEqual({ avatar: "demo", sampleRate: 48000, patch: true });
    expect(sockets[0]!.sent.map((b) => b.byteLength)).toEqual([960, 960]);
    expect(new DataView(sockets[0]!.sent[0]!.buffer).getInt16(0, true)).toBe(16384);
    // Another rate needs another session: the old socket is closed first.
    await conn.pushAudio(new Float32Array(160), 16000);
    expect(sockets).toHaveLength(2);
    expect(sockets[0]!.calls).toContain("close");
  });

  it("barge-in clears the server, silences the sound and reports the interruption", async () => {
    const { conn, sockets, log } = setup();
    await conn.load();
    await conn.pushAudio(new Float32Array(480), 48000);
    conn.clear();
    expect(sockets[0]!.calls).toContain("clear");
    expect(log.slice(-2)).toEqual(["silenced", "interrupted"]);
  });

  it("a connection the server drops is an error, and the avatar is loaded again", async () => {
    const { conn, sockets, log, timers } = setup();
    await conn.load();
    await conn.pushAudio(new Float32Array(480), 48000);
    sockets[0]!.drop(1011, "internal error (ref 1a2b3c4d)");
    expect(log).toContain("error connection closed: internal error (ref 1a2b3c4d)");
    expect(timers.at(-1)?.ms).toBe(500);
    // A clean close (1000) is not an error.
    await conn.pushAudio(new Float32Array(480), 48000);
    const errors = log.filter((l) => l.startsWith("error")).length;
    sockets[1]!.drop(1000, "done");
    expect(log.filter((l) => l.startsWith("error")).length).toBe(errors);
  });
});
