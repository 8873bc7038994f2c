/**
 * The WebSocket session client (docs/protocol.md), for browsers and Node: JSON control messages,
 * binary audio up and binary frames down. Browsers use it for live audio, since fetch cannot
 * stream a request body both ways. In Node pass a WebSocket implementation (e.g. `ws`).
 */
import { decodeError, decodeFrame, encodeAudio, KIND_IDLE, MSG_ERROR, MSG_FRAME } from "@lipsync/proto/ws-binary";
import type { FrameData, ImageFormatName, SpeechEvent } from "./client.js";


type WebSocketLike = {
  binaryType: string;
  readyState: number;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
};
type WebSocketCtor = new (url: string, protocols?: string[]) => WebSocketLike;

export interface SocketOptions {
  /** ws:// or wss:// URL of the server's /ws endpoint. */
  url: string;
  /** A WebSocket implementation; defaults to the global one (browsers, Node 22+). */
  WebSocket?: WebSocketCtor;
  /**
   * Bearer token, for a server that requires one. Browsers cannot set headers on a WebSocket:
   * it goes as the subprotocol `bearer.TOKEN` beside `lipsync` (the server answers `lipsync`),
   * so it stays out of URLs and their logs.
   */
  token?: string;
}

export interface StartOptions {
  avatar: string;
  sampleRate: number;
  encoding?: "pcm_s16le" | "pcm_f32le";
  channels?: number;
  continuous?: boolean;
  quality?: number;
  /** Speech frames as mouth patches over the source frame (a fraction of the bytes). */
  patch?: boolean;
}

export class SocketClosedError extends Error {
  constructor(readonly code: number, readonly reason: string) {
    super(`WebSocket closed (${code}${reason ? `: ${reason}` : ""})`);
    this.name = "SocketClosedError";
  }
}

/** Decodes a binary FRAME message (type 0x10). */
export function decodeFrameMessage(bytes: Uint8Array): FrameData & { requestId: number } {
  const f = decodeFrame(bytes);
  const box = f.mouthBox;
  return {
    requestId: f.requestId, kind: f.kind === KIND_IDLE ? "idle" : "speech", patch: f.patch, format: f.format, sourceIndex: f.sourceIndex, pts: f.pts,
    width: f.width, height: f.height, mouthBox: box && { x: box[0], y: box[1], width: box[2], height: box[3] }, timings: f.timings, image: f.image,
  };
}

const FORMATS: ImageFormatName[] = ["jpeg", "rgb", "rgba", "i420"];

/** A JSON frame's bounds (x1, y1, x2, y2) as a box. */
function boxOf(b: unknown): FrameData["mouthBox"] {
  if (!Array.isArray(b) || b.length !== 4) return undefined;
  const [x1, y1, x2, y2] = b.map(Number) as [number, number, number, number];
  return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}

function timingsOf(t: unknown): FrameData["timings"] {
  if (typeof t !== "object" || t === null) return undefined;
  const o = t as Record<string, unknown>;
  return {
    prepareMs: Number(o.prepare_ms), queueMs: Number(o.queue_ms), inferenceMs: Number(o.inference_ms), compositeMs: Number(o.composite_ms),
    encodeMs: Number(o.encode_ms), totalMs: Number(o.total_ms), batchSize: Number(o.batch_size),
  };
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class LipSyncSocket {
  private readonly ws: WebSocketLike;
  private listeners = new Set<(e: SpeechEvent) => void>();
  private closeListeners = new Set<(e: SocketClosedError) => void>();
  private pendingReplies: { type: string; resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  private closedWith: SocketClosedError | undefined;

  private constructor(ws: WebSocketLike) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = (ev) => {
      this.closedWith = new SocketClosedError(ev.code, ev.reason);
      for (const p of this.pendingReplies.splice(0)) p.reject(this.closedWith);
      for (const l of this.closeListeners) l(this.closedWith);
    };
  }

  static connect(options: SocketOptions): Promise<LipSyncSocket> {
    const Ctor = options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!Ctor) throw new Error("no WebSocket implementation: pass one in options.WebSocket");
    const ws = options.token ? new Ctor(options.url, ["lipsync", `bearer.${options.token}`]) : new Ctor(options.url);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new LipSyncSocket(ws));
      ws.onerror = () => reject(new Error(`cannot connect to ${options.url}`));
      ws.onclose = (ev) => reject(new SocketClosedError(ev.code, ev.reason));
    });
  }

  /** Every session event: started, frames, speech start/end, playback finished. */
  onEvent(listener: (e: SpeechEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: (e: SocketClosedError) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Starts the speech session; frames arrive as binary messages. */
  async start(options: StartOptions): Promise<Extract<SpeechEvent, { type: "started" }>> {
    const reply = this.waitFor("started");
    this.sendJson({
      type: "start", avatar: options.avatar, sample_rate: options.sampleRate, encoding: options.encoding ?? "pcm_s16le",
      channels: options.channels ?? 1, continuous: options.continuous ?? false, frames: "binary", patch: options.patch ?? false,
      ...(options.quality ? { quality: options.quality } : {}),
    });
    const m = await reply;
    return { type: "started", sessionId: String(m.session_id), samplesPerFrame: Number(m.samples_per_frame), clockRate: Number(m.clock_rate) };
  }

  /** Raw PCM in the format given to start(), as one binary AUDIO message. */
  pushAudio(pcm: Uint8Array): void {
    this.send(encodeAudio(pcm));
  }

  end(): void {
    this.sendJson({ type: "end" });
  }

  clear(): void {
    this.sendJson({ type: "clear" });
  }

  playbackPosition(pts: number): void {
    this.sendJson({ type: "playback_position", pts: Math.floor(pts) });
  }

  /** A request/response JSON message (get_stats, list_models, get_metadata, ...). */
  request(message: Record<string, unknown>, replyType: string): Promise<Record<string, unknown>> {
    const reply = this.waitFor(replyType);
    this.sendJson(message);
    return reply;
  }

  close(): void {
    this.ws.close(1000, "done");
  }

  get closed(): SocketClosedError | undefined {
    return this.closedWith;
  }

  private waitFor(type: string): Promise<Record<string, unknown>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => this.pendingReplies.push({ type, resolve, reject }));
  }

  private sendJson(m: object): void {
    this.send(JSON.stringify(m));
  }

  private send(data: string | Uint8Array): void {
    if (this.closedWith) throw this.closedWith;
    this.ws.send(data);
  }

  private emit(e: SpeechEvent): void {
    for (const l of this.listeners) l(e);
  }

  private onMessage(data: unknown): void {
    if (typeof data !== "string") {
      const bytes = new Uint8Array(data as ArrayBuffer);
      if (bytes[0] === MSG_FRAME) {
        const { requestId: _, ...frame } = decodeFrameMessage(bytes);
        this.emit({ type: "frame", frame });
      } else if (bytes[0] === MSG_ERROR) {
        this.pendingReplies.shift()?.reject(new Error(decodeError(bytes).message));
      }
      return;
    }
    const m = JSON.parse(data) as Record<string, unknown>;
    const type = String(m.type);
    const waiting = this.pendingReplies.findIndex((p) => p.type === type);
    if (type === "error") {
      this.pendingReplies.shift()?.reject(new Error(String(m.error)));
      return;
    }
    if (waiting >= 0) this.pendingReplies.splice(waiting, 1)[0]!.resolve(m);
    switch (type) {
      case "frame":
        this.emit({
          type: "frame",
          frame: {
            image: base64ToBytes(String(m.image)), patch: m.patch === true, format: FORMATS.find((f) => f === m.format) ?? "jpeg", width: Number(m.width), height: Number(m.height),
            sourceIndex: Number(m.source_index), pts: Number(m.pts), kind: m.kind === "idle" ? "idle" : "speech", mouthBox: boxOf(m.bounds), timings: timingsOf(m.timings),
          },
        });
        break;
      case "speech_started":
        this.emit({ type: "speech-started", pts: Number(m.pts) });
        break;
      case "speech_ended":
        this.emit({ type: "speech-ended", startPts: Number(m.start_pts), endPts: Number(m.end_pts), interrupted: Boolean(m.interrupted) });
        break;
      case "playback_finished":
        this.emit({ type: "playback-finished", position: Number(m.position), interrupted: Boolean(m.interrupted) });
        break;
      case "frames_dropped":
        this.emit({ type: "frames-dropped", startPts: Number(m.start_pts), endPts: Number(m.end_pts) });
        break;
      case "started":
        this.emit({ type: "started", sessionId: String(m.session_id), samplesPerFrame: Number(m.samples_per_frame), clockRate: Number(m.clock_rate) });
        break;
    }
  }
}
