/**
 * The WebSocket's request/response messages (docs/protocol.md): the seed's inference, metadata,
 * video-frame and stats requests, JSON or binary. Each is rate-limited and answered on its own;
 * a failure is an error message (JSON, or a binary ERROR), and the socket stays open.
 */
import { SourceView } from "@lipsync/proto";
import type { LipSyncApp } from "../app.js";
import { decodePcm } from "../audio/pcm.js";
import type { Principal } from "../auth.js";
import type { Frame } from "../engine/frame.js";
import { asLipSyncError, type LipSyncError } from "../errors.js";
import type { Access } from "./access.js";
import { forPeer, HTTP_STATUS } from "./status.js";
import { encodeError, encodeFrame, encodeSourceFrame, type BinaryRequest } from "./ws-binary.js";
import { avatarJson, inferenceJson, VIEW_NAMES, type JsonRequest } from "./ws-json.js";

/** JSON messages answered with one reply, as opposed to session messages. */
export type RequestMessage = Extract<JsonRequest, { type: "get_stats" | "list_models" | "get_metadata" | "get_video_frame" | "inference" }>;
export const REQUEST_TYPES = new Set<JsonRequest["type"]>(["get_stats", "list_models", "get_metadata", "get_video_frame", "inference"]);

function errorJson(requestId: string | undefined, e: LipSyncError) {
  return {
    type: "error", success: false, code: e.code, error: e.message, request_id: requestId,
    ...(e.retryAfterMs === undefined ? {} : { retry_after_ms: e.retryAfterMs }),
  };
}

export class WsRequests {
  constructor(
    private readonly app: LipSyncApp,
    private readonly send: (data: string | Uint8Array) => void,
    private readonly principal: Principal | undefined,
    private readonly access: Access | undefined,
    /** Aborts when the socket closes: frames of its requests not yet rendered never will be. */
    private readonly signal: AbortSignal,
  ) {}

  /** A JSON request; get_stats also subscribes the socket to the periodic stats (the caller's part). */
  json(req: RequestMessage): void {
    const refused = this.refusal();
    const id = "requestId" in req ? req.requestId : undefined;
    if (refused) {
      this.sendJson(errorJson(id, refused));
      return;
    }
    const { catalogue, oneShot } = this.app;
    switch (req.type) {
      case "get_stats":
        this.sendJson(this.statsJson());
        return;
      case "list_models":
        return this.answer(undefined, async () => {
          const avatars = await catalogue.list(this.principal);
          const loaded = avatars.filter((a) => a.loaded).map((a) => a.name);
          return { type: "models", models: { loaded_models: loaded, count: loaded.length }, avatars: avatars.map(avatarJson) };
        });
      case "get_metadata":
        return this.answer(undefined, async () => {
          const a = await catalogue.describe(this.principal, req.avatar);
          return {
            type: "metadata", success: true, model_name: req.avatar, frame_count: a.avatar.frameCount, available_videos: ["full_body", "face_regions", "masked_regions"],
            bounds: a.cropBoxes.map((b) => [b.x, b.y, b.x + b.width, b.y + b.height]), avatar: avatarJson(a.avatar),
          };
        });
      case "get_video_frame":
        return this.answer(req.requestId, async () => {
          const f = await oneShot.sourceFrame(this.principal, req.avatar, req.frame, req.view, "jpeg");
          return {
            type: "video_frame", success: true, model_name: req.avatar, frame_id: req.frame, video_type: VIEW_NAMES[req.view], width: f.width, height: f.height,
            image: Buffer.from(f.image).toString("base64"), request_id: req.requestId,
          };
        });
      case "inference":
        return this.answer(req.requestId, async () => {
          const t = performance.now();
          const frames = await this.infer(req.avatar, req.frames, req.audio);
          if (!req.batch) return inferenceJson(req.avatar, frames[0]!, req.requestId);
          const total = performance.now() - t;
          return {
            type: "batch", success: true, batch: true, batch_size: frames.length, frames: frames.map((f) => inferenceJson(req.avatar, f, req.requestId)),
            total_processing_time_ms: total, average_frame_time_ms: total / frames.length, batch_fps: (frames.length * 1000) / total, request_id: req.requestId,
          };
        });
    }
  }

  /** A binary request (inference or source frame). */
  binary(req: Exclude<BinaryRequest, { type: "audio" }>): void {
    const refused = this.refusal();
    if (refused) {
      this.send(encodeError(req.requestId, HTTP_STATUS[refused.code], refused.message));
      return;
    }
    const reply = async () => {
      if (req.type === "source-frame") {
        // Binary views count from 0: full, crop, masked crop.
        const view = [SourceView.FULL, SourceView.CROP, SourceView.MASKED_CROP][req.view] ?? SourceView.FULL;
        const f = await this.app.oneShot.sourceFrame(this.principal, req.avatar, req.frame, view, "jpeg");
        return encodeSourceFrame(req.requestId, req.view, req.frame, f.width, f.height, f.image);
      }
      const [f] = await this.infer(req.avatar, [req.frame], req.audio.byteLength ? req.audio : undefined);
      return encodeFrame(f!, req.requestId, true);
    };
    reply().then((bytes) => this.send(bytes), (err: unknown) => {
      const e = forPeer(err, this.app.logger);
      this.send(encodeError(req.requestId, HTTP_STATUS[e.code], e.message));
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

  private sendJson(msg: object): void {
    this.send(JSON.stringify(msg));
  }

  /** The request's refusal by the rate limit, or undefined. */
  private refusal(): LipSyncError | undefined {
    try {
      if (this.access && this.principal) this.access.rateLimit(this.principal);
      return undefined;
    } catch (err) {
      return asLipSyncError(err);
    }
  }

  private answer(requestId: string | undefined, work: () => Promise<object>): void {
    work().then((msg) => this.sendJson(msg), (err: unknown) => this.sendJson(errorJson(requestId, forPeer(err, this.app.logger))));
  }

  /**
   * An inference request's frames: driven by the avatar's own track, or one frame lipped to
   * `audio`, a 16 kHz PCM16 mono clip (the seed's audio override).
   */
  private async infer(avatar: string, frames: number[], audio: Uint8Array | undefined): Promise<Frame[]> {
    const { oneShot } = this.app;
    if (!audio) return oneShot.renderOwn(this.principal, avatar, frames, "jpeg", undefined, this.signal);
    return [await oneShot.renderWithAudio(this.principal, avatar, frames[0]!, decodePcm(audio, "s16le", 1), "jpeg", undefined, this.signal)];
  }
}
