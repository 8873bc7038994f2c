/**
 * The JSON WebSocket messages (docs/protocol.md): the seed's message set with its bugs fixed,
 * plus the streaming session. Parsing validates types and names the offending field.
 */
import type { AvatarSummary } from "../app.js";
import type { Rect } from "../engine/image-ops.js";
import type { RenderedFrame, StageTimings } from "../engine/renderer.js";
import { invalidArgument } from "../errors.js";
import type { OutFrame, SessionOutput } from "../session/session-runner.js";

export type JsonRequest =
  | { type: "get_stats" }
  | { type: "list_models" }
  | { type: "get_metadata"; avatar: string }
  | { type: "get_video_frame"; avatar: string; frame: number; view: "full" | "crop" | "masked-crop"; requestId: string | undefined }
  | { type: "inference"; avatar: string; frames: number[]; batch: boolean; audio: Uint8Array | undefined; requestId: string | undefined }
  | { type: "switch_to_binary" }
  | { type: "start"; avatar: string; sampleRate: number; encoding: "s16le" | "f32le"; channels: number; continuous: boolean; quality: number | undefined; binaryFrames: boolean; patch: boolean }
  | { type: "audio"; data: Uint8Array }
  | { type: "end" }
  | { type: "clear" }
  | { type: "playback_position"; pts: number };

const VIEWS: Record<string, "full" | "crop" | "masked-crop"> = {
  full_body: "full", full: "full", face_regions: "crop", crop: "crop", masked_regions: "masked-crop", masked_crop: "masked-crop",
};

function str(m: Record<string, unknown>, key: string): string {
  const v = m[key];
  if (typeof v !== "string" || v.length === 0) throw invalidArgument(`field "${key}" must be a non-empty string`);
  return v;
}

function int(m: Record<string, unknown>, key: string, fallback?: number): number {
  const v = m[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v)) throw invalidArgument(`field "${key}" must be an integer`);
  return v;
}

function base64(m: Record<string, unknown>, key: string): Uint8Array {
  const v = m[key];
  if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw invalidArgument(`field "${key}" must be base64`);
  return new Uint8Array(Buffer.from(v, "base64"));
}

function requestId(m: Record<string, unknown>): string | undefined {
  const v = m.request_id;
  return typeof v === "string" || typeof v === "number" ? String(v).slice(0, 64) : undefined;
}

export function parseJsonRequest(text: string): JsonRequest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw invalidArgument("message is not valid JSON");
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) throw invalidArgument("message must be a JSON object");
  const o = m as Record<string, unknown>;
  // The seed's inference requests carry no "type": recognise them by their fields.
  const type = typeof o.type === "string" ? o.type : "model_name" in o ? "inference" : undefined;
  switch (type) {
    case "get_stats":
      return { type };
    case "list_models":
    case "get_models":
    case "list_avatars":
      return { type: "list_models" };
    case "get_metadata":
    case "get_model_stats":
      return { type: "get_metadata", avatar: str(o, "model_name") };
    case "get_video_frame": {
      const view = VIEWS[typeof o.video_type === "string" ? o.video_type : "full_body"];
      if (!view) throw invalidArgument('field "video_type" must be full_body, face_regions or masked_regions');
      return { type, avatar: str(o, "model_name"), frame: int(o, "frame_id"), view, requestId: requestId(o) };
    }
    case "inference": {
      const avatar = str(o, "model_name");
      if (Array.isArray(o.batch_frames)) {
        if (o.batch_frames.length === 0) throw invalidArgument('field "batch_frames" must not be empty');
        const frames = o.batch_frames.map((f: unknown, i: number) => {
          if (typeof f !== "object" || f === null) throw invalidArgument(`batch_frames[${i}] must be an object`);
          return int(f as Record<string, unknown>, "frame_id");
        });
        return { type, avatar, frames, batch: true, audio: undefined, requestId: requestId(o) };
      }
      const audio = o.audio_override === undefined || o.audio_override === null ? undefined : base64(o, "audio_override");
      return { type, avatar, frames: [int(o, "frame_id")], batch: false, audio, requestId: requestId(o) };
    }
    case "switch_to_binary":
      return { type };
    case "start": {
      const encoding = o.encoding ?? "pcm_s16le";
      if (encoding !== "pcm_s16le" && encoding !== "pcm_f32le") throw invalidArgument('field "encoding" must be "pcm_s16le" or "pcm_f32le"');
      const frames = o.frames ?? "json";
      if (frames !== "json" && frames !== "binary") throw invalidArgument('field "frames" must be "json" or "binary"');
      return {
        type, avatar: str(o, "avatar"), sampleRate: int(o, "sample_rate"), encoding: encoding === "pcm_s16le" ? "s16le" : "f32le",
        channels: int(o, "channels", 1), continuous: o.continuous === true, quality: o.quality === undefined ? undefined : int(o, "quality"),
        binaryFrames: frames === "binary", patch: o.patch === true,
      };
    }
    case "audio":
      return { type, data: base64(o, "data") };
    case "end":
    case "clear":
      return { type };
    case "playback_position":
      return { type, pts: int(o, "pts") };
    default:
      throw invalidArgument(type === undefined ? 'message has no "type"' : `unknown message type "${type.slice(0, 40)}"`);
  }
}

function timingsJson(t: StageTimings | undefined) {
  return t && {
    prepare_ms: t.prepareMs, queue_ms: t.queueMs, inference_ms: t.inferenceMs, composite_ms: t.compositeMs,
    encode_ms: t.encodeMs, total_ms: t.totalMs, batch_size: t.batchSize,
  };
}

/** x1, y1, x2, y2 as the seed sent bounds. */
export function bounds(r: Rect | undefined): number[] | undefined {
  return r && [r[0], r[1], r[0] + r[2], r[1] + r[3]];
}

export function inferenceJson(avatar: string, frame: number, f: RenderedFrame, requestId: string | undefined) {
  const t = f.timings;
  return {
    type: "inference", success: true, model_name: avatar, frame_id: frame, prediction_data: Buffer.from(f.image).toString("base64"),
    width: f.width, height: f.height, bounds: bounds(f.mouthRect), processing_time_ms: t.totalMs, prepare_time_ms: t.prepareMs,
    inference_time_ms: t.inferenceMs, composite_time_ms: t.compositeMs, encode_time_ms: t.encodeMs, request_id: requestId,
  };
}

export function frameJson(f: OutFrame) {
  return {
    type: "frame", pts: f.pts, kind: f.kind, source_index: f.sourceIndex, format: f.encoding, patch: f.patch, width: f.width, height: f.height,
    image: Buffer.from(f.image).toString("base64"), bounds: bounds(f.mouthRect), timings: timingsJson(f.timings),
  };
}

export function sessionEventJson(out: Exclude<SessionOutput, { type: "frame" }>) {
  switch (out.type) {
    case "speech-started":
      return { type: "speech_started", pts: out.pts };
    case "speech-ended":
      return { type: "speech_ended", start_pts: out.startPts, end_pts: out.endPts, interrupted: out.interrupted };
    case "playback-finished":
      return { type: "playback_finished", position: out.position, interrupted: out.interrupted };
    case "frames-dropped":
      return { type: "frames_dropped", start_pts: out.startPts, end_pts: out.endPts };
  }
}

export function avatarJson(s: AvatarSummary) {
  return {
    name: s.name, loaded: s.loaded, frame_count: s.frameCount, fps: s.fps, width: s.width, height: s.height, description: s.description,
    license: s.license, error: s.error, model: s.model && {
      input_size: s.model.inputSize, lookahead_frames: s.model.lookaheadFrames, gmac_per_frame: s.model.gmacPerFrame, execution_provider: s.model.provider,
    },
    capacity: s.capacity && {
      sessions: s.capacity.sessions, sessions_mouth_patch: s.capacity.sessionsPatch, engine_fps: s.capacity.fullFps, engine_fps_mouth_patch: s.capacity.patchFps, measured: s.capacity.measured,
    },
  };
}
