/**
 * The WebSocket endpoint /ws: JSON text messages and binary messages on one socket, carrying the
 * seed's request set and the streaming speech session (docs/protocol.md).
 *
 * Request/response messages (inference, metadata, ...) that fail get an error message and the
 * socket stays open. Protocol violations (bad JSON, unknown types, truncated binary, audio
 * before start, a second start, bad audio) close the socket with a code and a reason.
 */
import { setMaxListeners } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { LipSyncApp } from "../app.js";
import { SAMPLE_RATE } from "../audio/constants.js";
import { decodePcm, type SampleEncoding } from "../audio/pcm.js";
import { asLipSyncError, invalidArgument, LipSyncError } from "../errors.js";
import type { SessionRunner } from "../session/session-runner.js";
import {
  decodeBinaryRequest, encodeError, encodeFrame, encodeSourceFrame, KIND_IDLE, KIND_INFERENCE, KIND_SPEECH,
} from "./ws-binary.js";
import { avatarJson, frameJson, inferenceJson, parseJsonRequest, sessionEventJson, type JsonRequest } from "./ws-json.js";
import { closeReason, WS_CLOSE } from "./status.js";

const HTTP_STATUS: Record<string, number> = {
  invalid_argument: 400, not_found: 404, failed_precondition: 412, resource_exhausted: 429, unavailable: 503, cancelled: 499, internal: 500,
};
/** Unsent bytes past which a socket counts as a slow consumer. */
const SEND_HIGH_WATER = 4 * 1024 * 1024;
const STATS_INTERVAL_MS = 5000;
const HEARTBEAT_MS = 30_000;

interface LiveSession {
  runner: SessionRunner;
  pcm: SampleEncoding;
  channels: number;
  binaryFrames: boolean;
}

class Connection {
  private binary = false;
  private session: LiveSession | undefined;
  private sessionChain: Promise<void> = Promise.resolve();
  private starting = false;
  statsSubscribed = false;
  alive = true;
  /** Aborted when the socket closes: its requests' frames not yet rendered never will be. */
  private readonly closed = new AbortController();

  constructor(private readonly app: LipSyncApp, readonly ws: WebSocket) {
    setMaxListeners(0, this.closed.signal);
  }

  onMessage(data: RawData, isBinary: boolean): void {
    try {
      if (isBinary) this.onBinary(toBytes(data));
      else this.onJson(parseJsonRequest(toBytes(data).toString()));
    } catch (err) {
      this.fail(err);
    }
  }

  onClose(): void {
    this.closed.abort();
    if (this.session) this.app.closeSession(this.session.runner);
    this.session = undefined;
  }

  /** Closes the socket for a protocol violation or a session failure. */
  fail(err: unknown): void {
    const e = asLipSyncError(err);
    if (e.code === "internal") this.app.logger.error({ err: e.cause ?? e }, "internal error");
    const hint = e.retryAfterMs === undefined ? "" : ` (retry in ${Math.ceil(e.retryAfterMs / 1000)} s)`;
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(WS_CLOSE[e.code], closeReason(e.message + hint));
    this.onClose();
  }

  private onJson(req: JsonRequest): void {
    this.app.stats.request(`ws:${req.type}`, "ws-json");
    switch (req.type) {
      case "get_stats":
        this.statsSubscribed = true;
        this.sendJson(this.statsJson());
        return;
      case "list_models":
        this.answer(undefined, async () => {
          const avatars = await this.app.listAvatars();
          return { type: "models", models: { loaded_models: avatars.filter((a) => a.loaded).map((a) => a.name), count: avatars.filter((a) => a.loaded).length }, avatars: avatars.map(avatarJson) };
        });
        return;
      case "get_metadata":
        this.answer(undefined, async () => {
          const a = await this.app.getAvatar(req.avatar);
          return {
            type: "metadata", success: true, model_name: req.avatar, frame_count: a.summary.frameCount, available_videos: ["full_body", "face_regions", "masked_regions"],
            bounds: a.cropBoxes.map((r) => [r[0], r[1], r[0] + r[2], r[1] + r[3]]), avatar: avatarJson(a.summary),
          };
        });
        return;
      case "get_video_frame":
        this.answer(req.requestId, async () => {
          const f = await this.app.sourceFrame(req.avatar, req.frame, req.view, "jpeg");
          return { type: "video_frame", success: true, model_name: req.avatar, frame_id: req.frame, video_type: req.view, width: f.width, height: f.height, image: Buffer.from(f.image).toString("base64"), request_id: req.requestId };
        });
        return;
      case "inference":
        this.answer(req.requestId, async () => {
          const t = performance.now();
          const frames = req.audio
            ? [await this.app.renderWithAudio(req.avatar, req.frames[0]!, decodePcm(req.audio, "s16le", 1), "jpeg", undefined, this.closed.signal)]
            : await this.app.renderOwn(req.avatar, req.frames, "jpeg", undefined, this.closed.signal);
          if (!req.batch) return inferenceJson(req.avatar, req.frames[0]!, frames[0]!, req.requestId);
          const total = performance.now() - t;
          return {
            type: "batch", success: true, batch: true, batch_size: frames.length, frames: frames.map((f, i) => inferenceJson(req.avatar, req.frames[i]!, f, req.requestId)),
            total_processing_time_ms: total, average_frame_time_ms: total / frames.length, batch_fps: (frames.length * 1000) / total, request_id: req.requestId,
          };
        });
        return;
      case "switch_to_binary":
        this.binary = true;
        this.sendJson({ type: "protocol_info", binary_supported: true, binary_protocol_version: "2.0" });
        return;
      default:
        this.onSessionMessage(req);
    }
  }

  private onBinary(bytes: Uint8Array): void {
    const req = decodeBinaryRequest(bytes);
    this.app.stats.request(`ws:${req.type}`, "ws-binary");
    if (req.type === "audio") {
      this.onSessionMessage({ type: "audio", data: req.data });
      return;
    }
    const reply = async () => {
      try {
        if (req.type === "source-frame") {
          const view = req.view === 1 ? "crop" : req.view === 2 ? "masked-crop" : "full";
          const f = await this.app.sourceFrame(req.avatar, req.frame, view, "jpeg");
          this.send(encodeSourceFrame(req.requestId, req.view, req.frame, f.width, f.height, f.image));
        } else {
          const f = req.audio.byteLength
            ? await this.app.renderWithAudio(req.avatar, req.frame, decodePcm(req.audio, "s16le", 1), "jpeg", undefined, this.closed.signal)
            : (await this.app.renderOwn(req.avatar, [req.frame], "jpeg", undefined, this.closed.signal))[0]!;
          this.send(encodeFrame({ kind: KIND_INFERENCE, patch: false, encoding: "jpeg", requestId: req.requestId, sourceIndex: req.frame, pts: f.pts ?? 0, width: f.width, height: f.height, mouthRect: f.mouthRect, timings: f.timings, image: f.image }));
        }
      } catch (err) {
        const e = asLipSyncError(err);
        if (e.code === "internal") this.app.logger.error({ err: e.cause ?? e }, "internal error");
        this.send(encodeError(req.requestId, HTTP_STATUS[e.code] ?? 500, e.code === "internal" ? "internal error" : e.message));
      }
    };
    void reply();
  }

  private onSessionMessage(req: Extract<JsonRequest, { type: "start" | "audio" | "end" | "clear" | "playback_position" }>): void {
    if (req.type === "start") {
      if (this.session || this.starting) throw invalidArgument("a session is already started on this socket");
      this.starting = true;
      // Later session messages wait for the start to finish, in order.
      this.sessionChain = this.start(req).finally(() => (this.starting = false));
      this.sessionChain.catch((err) => this.fail(err));
      return;
    }
    if (!this.session && !this.starting) throw new LipSyncError("failed_precondition", `"${req.type}" before "start"`);
    const apply = () => {
      const s = this.session;
      if (!s) return;
      switch (req.type) {
        case "audio":
          if (req.data.byteLength > this.app.config.maxChunkBytes) {
            throw new LipSyncError("resource_exhausted", `audio chunk of ${req.data.byteLength} bytes exceeds the ${this.app.config.maxChunkBytes}-byte limit`);
          }
          s.runner.pushAudio(decodePcm(req.data, s.pcm, s.channels));
          return;
        case "end":
          s.runner.end();
          return;
        case "clear":
          s.runner.clear();
          return;
        case "playback_position":
          s.runner.playbackPosition(req.pts);
          return;
      }
    };
    if (this.starting) {
      this.sessionChain = this.sessionChain.then(apply);
      this.sessionChain.catch((err) => this.fail(err));
    } else {
      apply();
    }
  }

  private async start(req: Extract<JsonRequest, { type: "start" }>): Promise<void> {
    if (req.channels !== 1 && req.channels !== 2) throw invalidArgument(`field "channels" must be 1 or 2`);
    const { id, runner, avatar } = await this.app.openSession({
      avatar: req.avatar, sampleRate: req.sampleRate, continuous: req.continuous, encoding: "jpeg", quality: req.quality ?? this.app.config.jpegQuality,
      patch: req.patch,
    });
    if (this.ws.readyState !== this.ws.OPEN) {
      this.app.closeSession(runner);
      return;
    }
    this.session = { runner, pcm: req.encoding, channels: req.channels, binaryFrames: req.binaryFrames || this.binary };
    this.sendJson({ type: "started", session_id: id, avatar: avatarJson(this.app.summary(avatar)), samples_per_frame: avatar.samplesPerFrame, clock_rate: SAMPLE_RATE });
    void this.forward(this.session);
  }

  /** Sends the session's outputs in order, waiting while the socket's buffer is full. */
  private async forward(s: LiveSession): Promise<void> {
    try {
      for await (const out of s.runner) {
        if (out.type !== "frame") {
          await this.sendAsync(JSON.stringify(sessionEventJson(out)));
          continue;
        }
        const f = out.frame;
        if (f.kind === "idle") this.app.stats.idleFrame();
        await this.sendAsync(s.binaryFrames
          ? encodeFrame({ kind: f.kind === "speech" ? KIND_SPEECH : KIND_IDLE, patch: f.patch, encoding: f.encoding, requestId: 0, sourceIndex: f.sourceIndex, pts: f.pts, width: f.width, height: f.height, mouthRect: f.mouthRect, timings: f.timings, image: f.image })
          : JSON.stringify(frameJson(f)));
      }
      if (this.session === s) {
        this.app.closeSession(s.runner);
        this.session = undefined;
        this.sendJson({ type: "session_closed" });
      }
    } catch (err) {
      if (this.session === s) this.fail(err);
    }
  }

  private answer(requestId: string | undefined, work: () => Promise<object>): void {
    work().then((msg) => this.sendJson(msg), (err) => {
      const e = asLipSyncError(err);
      if (e.code === "internal") this.app.logger.error({ err: e.cause ?? e }, "internal error");
      this.sendJson({ type: "error", success: false, code: e.code, error: e.code === "internal" ? "internal error" : e.message, request_id: requestId });
    });
  }

  statsJson() {
    const s = this.app.stats;
    const total = s.stages().find((x) => x.stage === "total");
    return {
      type: "stats", total_requests: s.totalRequests, binary_requests: s.transports.get("ws-binary") ?? 0, json_requests: s.transports.get("ws-json") ?? 0,
      average_time_ms: total?.p50 ?? 0, connected_clients: s.websocketClients, active_sessions: s.activeSessions, frames_rendered: s.framesRendered,
      stages: s.stages(),
    };
  }

  sendJson(msg: object): void {
    this.send(JSON.stringify(msg));
  }

  private send(data: string | Uint8Array): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data);
  }

  private sendAsync(data: string | Uint8Array): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) return Promise.reject(new LipSyncError("unavailable", "socket closed"));
    return new Promise((resolve, reject) => {
      this.ws.send(data, (err) => (err ? reject(new LipSyncError("unavailable", "socket closed")) : resolve()));
      // A buffer past the high-water mark means the reader is slow: wait for the write to finish
      // (the callback above) before pulling more, so the session's bounded queue applies.
      if (this.ws.bufferedAmount < SEND_HIGH_WATER) resolve();
    });
  }
}

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data as ArrayBuffer);
}

export class WebSocketEndpoint {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly timers: NodeJS.Timeout[];

  constructor(private readonly app: LipSyncApp) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: app.config.maxMessageBytes, perMessageDeflate: false });
    this.timers = [
      setInterval(() => {
        for (const c of this.connections) if (c.statsSubscribed) c.sendJson(c.statsJson());
      }, STATS_INTERVAL_MS),
      setInterval(() => {
        for (const c of this.connections) {
          if (!c.alive) c.ws.terminate();
          c.alive = false;
          c.ws.ping();
        }
      }, HEARTBEAT_MS),
    ];
    for (const t of this.timers) t.unref();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const c = new Connection(this.app, ws);
      this.connections.add(c);
      this.app.stats.wsOpened();
      ws.on("message", (data, isBinary) => c.onMessage(data, isBinary));
      ws.on("pong", () => (c.alive = true));
      ws.on("error", () => ws.terminate());
      ws.on("close", () => {
        c.onClose();
        this.connections.delete(c);
        this.app.stats.wsClosed();
      });
    });
  }

  /** Closes every socket with 1001 (going away). */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const c of this.connections) c.ws.close(1001, "server shutting down");
    this.wss.close();
  }
}
