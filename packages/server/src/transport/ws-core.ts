/**
 * The WebSocket protocol of /ws (docs/protocol.md) without the socket: JSON text messages and
 * binary messages in, messages and close decisions out through a `WsPeer`. The transport
 * (ws.ts) is a thin adapter that feeds it the messages of a real socket; unit tests feed it
 * bytes and read what it sends.
 *
 * Request/response messages (inference, metadata, ...) that fail get an error message and the
 * socket stays open. Protocol violations (bad JSON, unknown types, truncated binary, audio
 * before start, a second start, bad audio) close the socket with a code and a reason.
 */
import { setMaxListeners } from "node:events";
import type { LipSyncApp } from "../app.js";
import { SAMPLE_RATE } from "../audio/constants.js";
import { decodePcm, type SampleEncoding } from "../audio/pcm.js";
import { checkAvatarAllowed, type Principal } from "../auth.js";
import { asLipSyncError, invalidArgument, LipSyncError } from "../errors.js";
import type { SessionRunner } from "../session/session-runner.js";
import { decodeBinaryRequest, encodeError, encodeSourceFrame, frameMessage, KIND_IDLE, KIND_INFERENCE, KIND_SPEECH } from "./ws-binary.js";
import { avatarJson, frameJson, inferenceJson, parseJsonRequest, sessionEventJson, type JsonRequest } from "./ws-json.js";
import type { Access } from "./access.js";
import { closeReason, HTTP_STATUS, WS_CLOSE } from "./status.js";

/** What the protocol needs of a socket. */
export interface WsPeer {
  /** Whether messages can still be sent. */
  readonly open: boolean;
  send(data: string | Uint8Array): void;
  /**
   * Sends, resolving when the peer can take more: at once while its buffer is short, else once
   * this message is written (a slow reader holds the session's bounded queue back). Rejects when
   * the socket closes.
   */
  sendAsync(data: string | Uint8Array): Promise<void>;
  close(code: number, reason: string): void;
}

/** JSON messages answered with one reply (rate-limited), as opposed to session messages. */
const REQUEST_TYPES = new Set<JsonRequest["type"]>(["get_stats", "list_models", "get_metadata", "get_video_frame", "inference"]);

function errorJson(requestId: string | undefined, e: LipSyncError) {
  return {
    type: "error", success: false, code: e.code, error: e.code === "internal" ? "internal error" : e.message, request_id: requestId,
    ...(e.retryAfterMs === undefined ? {} : { retry_after_ms: e.retryAfterMs }),
  };
}

interface LiveSession {
  runner: SessionRunner;
  pcm: SampleEncoding;
  channels: number;
  binaryFrames: boolean;
}

export class WsConnection {
  private binary = false;
  private session: LiveSession | undefined;
  private sessionChain: Promise<void> = Promise.resolve();
  private starting = false;
  statsSubscribed = false;
  /** Aborted when the socket closes: its requests' frames not yet rendered never will be. */
  private readonly closed = new AbortController();

  /**
   * `principal`: who authenticated on this socket (undefined in tests without access control);
   * `access`: the per-client rate limit of request messages.
   */
  constructor(private readonly app: LipSyncApp, private readonly peer: WsPeer, private readonly principal?: Principal, private readonly access?: Access) {
    setMaxListeners(0, this.closed.signal);
  }

  /** One message from the peer: a text message's UTF-8 bytes, or a binary message. */
  onMessage(data: Uint8Array, isBinary: boolean): void {
    try {
      if (isBinary) this.onBinary(data);
      else this.onJson(parseJsonRequest(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")));
    } catch (err) {
      this.fail(err);
    }
  }

  /** The socket closed (either side): the session ends and its pending work is cancelled. */
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
    if (this.peer.open) this.peer.close(WS_CLOSE[e.code], closeReason((e.code === "internal" ? "internal error" : e.message) + hint));
    this.onClose();
  }

  /** A request message's refusal (rate limit, an avatar the token does not allow), or undefined. */
  private refusal(avatar: string | undefined): LipSyncError | undefined {
    try {
      if (this.access && this.principal) this.access.rateLimit(this.principal);
      if (avatar !== undefined) checkAvatarAllowed(this.principal, avatar);
      return undefined;
    } catch (err) {
      return asLipSyncError(err);
    }
  }

  private onJson(req: JsonRequest): void {
    this.app.stats.request(`ws:${req.type}`, "ws-json");
    if (REQUEST_TYPES.has(req.type)) {
      const refused = this.refusal("avatar" in req ? req.avatar : undefined);
      if (refused) {
        this.sendJson(errorJson("requestId" in req ? req.requestId : undefined, refused));
        return;
      }
    }
    switch (req.type) {
      case "get_stats":
        this.statsSubscribed = true;
        this.sendJson(this.statsJson());
        return;
      case "list_models":
        this.answer(undefined, async () => {
          const allowed = this.principal?.avatars;
          const avatars = (await this.app.listAvatars()).filter((a) => !allowed || allowed.includes(a.name));
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
    const refused = this.refusal(req.avatar);
    if (refused) {
      this.send(encodeError(req.requestId, HTTP_STATUS[refused.code], refused.message));
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
          this.send(frameMessage({ kind: KIND_INFERENCE, patch: false, encoding: "jpeg", requestId: req.requestId, sourceIndex: req.frame, pts: f.pts ?? 0, width: f.width, height: f.height, mouthRect: f.mouthRect, timings: f.timings, image: f.image }));
        }
      } catch (err) {
        const e = asLipSyncError(err);
        if (e.code === "internal") this.app.logger.error({ err: e.cause ?? e }, "internal error");
        this.send(encodeError(req.requestId, HTTP_STATUS[e.code], e.code === "internal" ? "internal error" : e.message));
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
    checkAvatarAllowed(this.principal, req.avatar);
    const { id, runner, avatar } = await this.app.openSession({
      avatar: req.avatar, sampleRate: req.sampleRate, continuous: req.continuous, encoding: "jpeg", quality: req.quality ?? this.app.config.jpegQuality,
      patch: req.patch, ...(this.principal ? { client: this.principal } : {}),
    });
    if (!this.peer.open) {
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
      for await (const out of this.app.outputs(s.runner)) {
        if (out.type !== "frame") {
          await this.sendAsync(JSON.stringify(sessionEventJson(out)));
          continue;
        }
        const f = out.frame;
        if (f.kind === "idle") this.app.stats.idleFrame();
        await this.sendAsync(s.binaryFrames
          ? frameMessage({ kind: f.kind === "speech" ? KIND_SPEECH : KIND_IDLE, patch: f.patch, encoding: f.encoding, requestId: 0, sourceIndex: f.sourceIndex, pts: f.pts, width: f.width, height: f.height, mouthRect: f.mouthRect, timings: f.timings, image: f.image })
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
      this.sendJson(errorJson(requestId, e));
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
    if (this.peer.open) this.peer.send(data);
  }

  private sendAsync(data: string | Uint8Array): Promise<void> {
    if (!this.peer.open) return Promise.reject(new LipSyncError("unavailable", "socket closed"));
    return this.peer.sendAsync(data);
  }
}
