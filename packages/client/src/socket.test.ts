/** The WebSocket session client against a fake socket: handshake, start, events, replies, closing. */
import { create } from "@bufbuild/protobuf";
import { FrameKind, FrameSchema, ImageFormat } from "@lipsync/proto";
import { encodeError, encodeFrame, MSG_AUDIO } from "@lipsync/proto/ws-binary";
import { describe, expect, it } from "vitest";
import type { SpeechEvent } from "./client.js";
import { LipSyncSocket, SocketClosedError } from "./socket.js";

class FakeWs {
  static last: FakeWs;
  binaryType = "blob";
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string, readonly protocols?: string[]) {
    FakeWs.last = this;
  }
  send(data: string | Uint8Array) {
    this.sent.push(data);
  }
  close(code = 1000, reason = "") {
    this.onclose?.({ code, reason });
  }
  /** The server's side. */
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(data: string | Uint8Array) {
    this.onmessage?.({ data: typeof data === "string" ? data : data.slice().buffer });
  }
  json(): Record<string, unknown>[] {
    return this.sent.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m) as Record<string, unknown>);
  }
}

async function connected(token?: string): Promise<{ socket: LipSyncSocket; ws: FakeWs }> {
  const pending = LipSyncSocket.connect({ url: "ws://server.test/ws", WebSocket: FakeWs as never, ...(token ? { token } : {}) });
  const ws = FakeWs.last;
  ws.open();
  return { socket: await pending, ws };
}

describe("LipSyncSocket", () => {
  it("offers the token as a subprotocol beside lipsync, never in the URL", async () => {
    const { ws } = await connected("t0ken");
    expect(ws.url).toBe("ws://server.test/ws");
    expect(ws.protocols).toEqual(["lipsync", "bearer.t0ken"]);
    expect((await connected()).ws.protocols).toBeUndefined();
  });

  it("fails to connect with the close code a refusal gave", async () => {
    const pending = LipSyncSocket.connect({ url: "ws://server.test/ws", WebSocket: FakeWs as never });
    FakeWs.last.onclose?.({ code: 4401, reason: "a bearer token is required" });
    await expect(pending).rejects.toMatchObject({ code: 4401, reason: "a bearer token is required" });
  });

  it("starts a session with binary frames and resolves with what the server answered", async () => {
    const { socket, ws } = await connected();
    const started = socket.start({ avatar: "demo", sampleRate: 24000, patch: true });
    expect(ws.json()[0]).toEqual({ type: "start", avatar: "demo", sample_rate: 24000, encoding: "pcm_s16le", channels: 1, continuous: false, frames: "binary", patch: true });
    ws.receive(JSON.stringify({ type: "started", session_id: "s7", samples_per_frame: 800, clock_rate: 16000 }));
    expect(await started).toEqual({ type: "started", sessionId: "s7", samplesPerFrame: 800, clockRate: 16000 });
    socket.pushAudio(Uint8Array.of(1, 2, 3, 4));
    expect([...(ws.sent.at(-1) as Uint8Array)]).toEqual([MSG_AUDIO, 1, 2, 3, 4]);
  });

  it("turns binary and JSON frames, and the session's events, into the same events", async () => {
    const { socket, ws } = await connected();
    const events: SpeechEvent[] = [];
    socket.onEvent((e) => events.push(e));
    const frame = create(FrameSchema, {
      image: Uint8Array.of(9, 8, 7), format: ImageFormat.I420, width: 2, height: 1, sourceIndex: 4, pts: 1280n, kind: FrameKind.SPEECH, patch: true,
      mouthBox: { x: 10, y: 20, width: 2, height: 1 }, timings: { prepareMs: 1, queueMs: 2, inferenceMs: 3, compositeMs: 4, encodeMs: 5, totalMs: 15, batchSize: 2 },
    });
    ws.receive(encodeFrame(frame));
    ws.receive(JSON.stringify({
      type: "frame", pts: 1920, kind: "idle", source_index: 5, format: "rgba", patch: false, width: 2, height: 1, image: "AQID", bounds: [10, 20, 12, 21],
      timings: { prepare_ms: 1, queue_ms: 2, inference_ms: 3, composite_ms: 4, encode_ms: 5, total_ms: 15, batch_size: 2 },
    }));
    ws.receive(JSON.stringify({ type: "speech_ended", start_pts: 0, end_pts: 2560, interrupted: true }));
    ws.receive(JSON.stringify({ type: "playback_finished", position: 1000, interrupted: true }));
    ws.receive(JSON.stringify({ type: "frames_dropped", start_pts: 640, end_pts: 1280 }));
    const [binary, json, ...rest] = events;
    expect(binary).toMatchObject({ type: "frame", frame: { format: "i420", pts: 1280, kind: "speech", patch: true, sourceIndex: 4, mouthBox: { x: 10, y: 20, width: 2, height: 1 } } });
    expect(binary!.type === "frame" && [...binary.frame.image]).toEqual([9, 8, 7]);
    expect(json).toMatchObject({ type: "frame", frame: { format: "rgba", pts: 1920, kind: "idle", mouthBox: { x: 10, y: 20, width: 2, height: 1 }, timings: { totalMs: 15, batchSize: 2 } } });
    expect(json!.type === "frame" && [...json.frame.image]).toEqual([1, 2, 3]);
    expect(rest).toEqual([
      { type: "speech-ended", startPts: 0, endPts: 2560, interrupted: true },
      { type: "playback-finished", position: 1000, interrupted: true },
      { type: "frames-dropped", startPts: 640, endPts: 1280 },
    ]);
  });

  it("answers requests in order, and fails one with the server's error", async () => {
    const { socket, ws } = await connected();
    const stats = socket.request({ type: "get_stats" }, "stats");
    ws.receive(JSON.stringify({ type: "stats", active_sessions: 2 }));
    expect(await stats).toMatchObject({ active_sessions: 2 });
    const meta = socket.request({ type: "get_metadata", model_name: "nobody" }, "metadata");
    ws.receive(JSON.stringify({ type: "error", success: false, code: "not_found", error: 'avatar "nobody" not found' }));
    await expect(meta).rejects.toThrow('avatar "nobody" not found');
    const frame = socket.request({ type: "get_video_frame", model_name: "demo", frame_id: 999 }, "video_frame");
    ws.receive(encodeError(0, 400, "frame index 999 is out of range"));
    await expect(frame).rejects.toThrow("out of range");
  });

  it("on close fails what waits, tells its listeners, and refuses to send", async () => {
    const { socket, ws } = await connected();
    const closes: SocketClosedError[] = [];
    socket.onClose((e) => closes.push(e));
    const waiting = socket.request({ type: "list_models" }, "models");
    ws.close(4429, "server is at capacity");
    await expect(waiting).rejects.toBeInstanceOf(SocketClosedError);
    expect(closes.map((c) => c.code)).toEqual([4429]);
    expect(socket.closed?.reason).toBe("server is at capacity");
    expect(() => socket.end()).toThrow(SocketClosedError);
  });
});
