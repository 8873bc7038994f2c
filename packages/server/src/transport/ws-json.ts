/**
 * The JSON WebSocket messages (docs/protocol.md): the seed's message set with its bugs fixed,
 * plus the streaming session. Parsing validates types and names the offending field.
 */
import { FrameKind, ImageFormat, SourceView, type AvatarInfo, type Box, type Frame, type StageTimings } from "@lipsync/proto";
import { invalidArgument } from "../errors.js";
import type { SessionEvent } from "../session/protocol.js";

export type JsonRequest =
  | { type: "get_stats" }
  | { type: "list_models" }
  | { type: "get_metadata"; avatar: string }
  | { type: "get_video_frame"; avatar: string; frame: number; view: SourceView; requestId: string | undefined }
  | { type: "inference"; avatar: string; frames: number[]; batch: boolean; audio: Uint8Array | undefined; requestId: string | undefined }
  | { type: "switch_to_binary" }
  | { type: "start"; avatar: string; sampleRate: number; encoding: "s16le" | "f32le"; channels: number; continuous: boolean; quality: number | undefined; binaryFrames: boolean; patch: boolean }
  | { type: "audio"; data: Uint8Array }
  | { type: "end" }
  | { type: "clear" }
  | { type: "playback_position"; pts: number };

const VIEWS: Record<string, SourceView> = {
  full_body: SourceView.FULL, full: SourceView.FULL, face_regions: SourceView.CROP, crop: SourceView.CROP,
  masked_regions: SourceView.MASKED_CROP, masked_crop: SourceView.MASKED_CROP,
};

/** How a video_frame answer names its view. */
export const VIEW_NAMES: Record<SourceView, string> = {
  [SourceView.UNSPECIFIED]: "full", [SourceView.FULL]: "full", [SourceView.CROP]: "crop", [SourceView.MASKED_CROP]: "masked-crop",
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
      const viewName = typeof o.video_type === "string" ? o.video_type : "full_body";
      const view = Object.hasOwn(VIEWS, viewName) ? VIEWS[viewName] : undefined;
      if (view === undefined) throw invalidArgument('field "video_type" must be full_body, face_regions or masked_regions');
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
export function bounds(b: Box | undefined): number[] | undefined {
  return b && [b.x, b.y, b.x + b.width, b.y + b.height];
}

const FORMAT_NAMES: Record<ImageFormat, string> = {
  [ImageFormat.UNSPECIFIED]: "jpeg", [ImageFormat.JPEG]: "jpeg", [ImageFormat.RGB]: "rgb", [ImageFormat.RGBA]: "rgba", [ImageFormat.I420]: "i420",
};

/** The seed's inference answer, from a frame rendered on request. */
export function inferenceJson(avatar: string, f: Frame, requestId: string | undefined) {
  const t = f.timings;
  return {
    type: "inference", success: true, model_name: avatar, frame_id: f.sourceIndex, prediction_data: Buffer.from(f.image).toString("base64"),
    width: f.width, height: f.height, bounds: bounds(f.mouthBox), processing_time_ms: t?.totalMs, prepare_time_ms: t?.prepareMs,
    inference_time_ms: t?.inferenceMs, composite_time_ms: t?.compositeMs, encode_time_ms: t?.encodeMs, request_id: requestId,
  };
}

/** A session frame as a JSON message. */
export function frameJson(f: Frame) {
  return {
    type: "frame", pts: Number(f.pts), kind: f.kind === FrameKind.SPEECH ? "speech" : "idle", source_index: f.sourceIndex, format: FORMAT_NAMES[f.format],
    patch: f.patch, width: f.width, height: f.height, image: Buffer.from(f.image).toString("base64"), bounds: bounds(f.mouthBox), timings: timingsJson(f.timings),
  };
}

/** A session event other than a frame as a JSON message (errors close the socket instead). */
export function sessionEventJson(e: Exclude<SessionEvent, { type: "frame" | "error" | "cleared" }>) {
  switch (e.type) {
    case "started": {
      const s = e.started;
      return { type: "started", session_id: s.sessionId, avatar: s.avatar && avatarJson(s.avatar), samples_per_frame: s.samplesPerFrame, clock_rate: s.clockRate };
    }
    case "speech-started":
      return { type: "speech_started", pts: e.pts };
    case "speech-ended":
      return { type: "speech_ended", start_pts: e.startPts, end_pts: e.endPts, interrupted: e.interrupted };
    case "playback-finished":
      return { type: "playback_finished", position: e.position, interrupted: e.interrupted };
    case "frames-dropped":
      return { type: "frames_dropped", start_pts: e.startPts, end_pts: e.endPts };
  }
}

export function avatarJson(a: AvatarInfo) {
  const m = a.model;
  const c = a.capacity;
  return {
    name: a.name, loaded: a.loaded, frame_count: a.frameCount, fps: a.fps, width: a.width, height: a.height, description: a.description,
    license: a.license, error: a.error || undefined, model: m && {
      input_size: m.inputSize, lookahead_frames: m.lookaheadFrames, gmac_per_frame: m.gmacPerFrame, execution_provider: m.executionProvider,
      batch_buckets: m.batchBuckets, provider_options: m.providerOptions,
    },
    capacity: c && {
      sessions: c.sessions, sessions_mouth_patch: c.sessionsMouthPatch, engine_fps: c.engineFps, engine_fps_mouth_patch: c.engineFpsMouthPatch, measured: c.measured,
    },
  };
}
