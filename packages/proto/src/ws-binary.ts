/**
 * The binary WebSocket messages of /ws (docs/protocol.md, "Binary messages"), little-endian: the
 * one description of their layout, imported by the server (transport/ws-binary.ts) and by the
 * client SDK (socket.ts). Plain TypeScript over DataView, no Node or DOM API, so it runs in
 * browsers too. Decoders check every length against the bytes present: a truncated message is a
 * `BinaryFormatError`, never a misread.
 */
import { FrameKind, ImageFormat, type Frame } from "./gen/lipsync/v1/lipsync_pb.js";

/** Client to server. */
export const MSG_AUDIO = 0x01;
export const MSG_INFERENCE = 0x02;
export const MSG_SOURCE_FRAME = 0x03;
/** Server to client. */
export const MSG_FRAME = 0x10;
export const MSG_SOURCE_FRAME_RESULT = 0x11;
export const MSG_ERROR = 0x1f;

export const FRAME_HEADER_BYTES = 64;
export const SOURCE_HEADER_BYTES = 20;
export const ERROR_HEADER_BYTES = 12;

/** FRAME byte 1. */
export const KIND_IDLE = 0;
export const KIND_SPEECH = 1;
export const KIND_INFERENCE = 2;
/** FRAME byte 2: the image's lipsync.v1 ImageFormat value. */
export const FORMAT_JPEG = 1;
export const FORMAT_RGB = 2;
export const FORMAT_RGBA = 3;
export const FORMAT_I420 = 4;
const FORMAT_NAMES = { [FORMAT_JPEG]: "jpeg", [FORMAT_RGB]: "rgb", [FORMAT_RGBA]: "rgba", [FORMAT_I420]: "i420" } as const;
export type BinaryImageFormat = (typeof FORMAT_NAMES)[keyof typeof FORMAT_NAMES];
/** FRAME byte 3, flag bits. */
export const FLAG_PATCH = 0x01;

/** A binary message that does not match its layout. */
export class BinaryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BinaryFormatError";
  }
}

export interface FrameTimings {
  prepareMs: number;
  queueMs: number;
  inferenceMs: number;
  compositeMs: number;
  encodeMs: number;
  totalMs: number;
  batchSize: number;
}

/** A FRAME message (0x10). `mouthBox` is x, y, width, height; absent when width is 0. */
export interface BinaryFrame {
  kind: number;
  patch: boolean;
  format: BinaryImageFormat;
  requestId: number;
  sourceIndex: number;
  pts: number;
  width: number;
  height: number;
  mouthBox: [number, number, number, number] | undefined;
  timings: FrameTimings | undefined;
  image: Uint8Array;
}

/**
 * A FRAME message of a lipsync.v1 Frame: the server's one encoding of its frame record. `kind`
 * says whether it answers an inference request (KIND_INFERENCE) or belongs to a session.
 */
export function encodeFrame(f: Frame, requestId = 0, inference = false): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + f.image.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, MSG_FRAME);
  v.setUint8(1, inference ? KIND_INFERENCE : f.kind === FrameKind.SPEECH ? KIND_SPEECH : KIND_IDLE);
  v.setUint8(2, f.format === ImageFormat.UNSPECIFIED ? FORMAT_JPEG : f.format);
  v.setUint8(3, f.patch ? FLAG_PATCH : 0);
  v.setUint32(4, requestId, true);
  v.setUint32(8, f.sourceIndex, true);
  v.setFloat64(12, Number(f.pts), true);
  v.setUint16(20, f.width, true);
  v.setUint16(22, f.height, true);
  const b = f.mouthBox;
  const [bx, by, bw, bh] = b ? [b.x, b.y, b.width, b.height] : [0, 0, 0, 0];
  v.setInt16(24, bx, true);
  v.setInt16(26, by, true);
  v.setUint16(28, bw, true);
  v.setUint16(30, bh, true);
  const t = f.timings;
  const values = t ? [t.prepareMs, t.queueMs, t.inferenceMs, t.compositeMs, t.encodeMs, t.totalMs] : [0, 0, 0, 0, 0, 0];
  values.forEach((x, i) => v.setFloat32(32 + i * 4, x, true));
  v.setUint16(56, t?.batchSize ?? 0, true);
  v.setUint32(60, f.image.byteLength, true);
  out.set(f.image, FRAME_HEADER_BYTES);
  return out;
}

export function decodeFrame(bytes: Uint8Array): BinaryFrame {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < FRAME_HEADER_BYTES || v.getUint8(0) !== MSG_FRAME) throw new BinaryFormatError("not a frame message");
  const len = v.getUint32(60, true);
  if (FRAME_HEADER_BYTES + len !== bytes.byteLength) throw new BinaryFormatError(`frame message of ${bytes.byteLength} bytes announces ${len} bytes of image`);
  const boxW = v.getUint16(28, true);
  const t = Array.from({ length: 6 }, (_, i) => v.getFloat32(32 + i * 4, true));
  const batchSize = v.getUint16(56, true);
  return {
    kind: v.getUint8(1),
    format: FORMAT_NAMES[v.getUint8(2) as keyof typeof FORMAT_NAMES] ?? "jpeg",
    patch: (v.getUint8(3) & FLAG_PATCH) !== 0,
    requestId: v.getUint32(4, true),
    sourceIndex: v.getUint32(8, true),
    pts: v.getFloat64(12, true),
    width: v.getUint16(20, true),
    height: v.getUint16(22, true),
    mouthBox: boxW ? [v.getInt16(24, true), v.getInt16(26, true), boxW, v.getUint16(30, true)] : undefined,
    timings: batchSize ? { prepareMs: t[0]!, queueMs: t[1]!, inferenceMs: t[2]!, compositeMs: t[3]!, encodeMs: t[4]!, totalMs: t[5]!, batchSize } : undefined,
    image: bytes.subarray(FRAME_HEADER_BYTES),
  };
}

export function encodeSourceFrame(requestId: number, view: number, frame: number, width: number, height: number, image: Uint8Array): Uint8Array {
  const out = new Uint8Array(SOURCE_HEADER_BYTES + image.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, MSG_SOURCE_FRAME_RESULT);
  v.setUint8(1, view);
  v.setUint32(4, requestId, true);
  v.setUint32(8, frame, true);
  v.setUint16(12, width, true);
  v.setUint16(14, height, true);
  v.setUint32(16, image.byteLength, true);
  out.set(image, SOURCE_HEADER_BYTES);
  return out;
}

/** An ERROR message (0x1f): an HTTP-like status, the request it answers, a UTF-8 message. */
export function encodeError(requestId: number, status: number, message: string): Uint8Array {
  const text = new TextEncoder().encode(message);
  const out = new Uint8Array(ERROR_HEADER_BYTES + text.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, MSG_ERROR);
  v.setUint16(2, status, true);
  v.setUint32(4, requestId, true);
  v.setUint32(8, text.byteLength, true);
  out.set(text, ERROR_HEADER_BYTES);
  return out;
}

export function decodeError(bytes: Uint8Array): { status: number; requestId: number; message: string } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < ERROR_HEADER_BYTES || v.getUint8(0) !== MSG_ERROR) throw new BinaryFormatError("not an error message");
  const len = v.getUint32(8, true);
  if (ERROR_HEADER_BYTES + len !== bytes.byteLength) throw new BinaryFormatError(`error message of ${bytes.byteLength} bytes announces ${len} bytes of text`);
  return { status: v.getUint16(2, true), requestId: v.getUint32(4, true), message: new TextDecoder().decode(bytes.subarray(ERROR_HEADER_BYTES)) };
}

/** An AUDIO message (0x01): raw PCM in the session's format. */
export function encodeAudio(pcm: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + pcm.byteLength);
  out[0] = MSG_AUDIO;
  out.set(pcm, 1);
  return out;
}

export type BinaryRequest =
  | { type: "audio"; data: Uint8Array }
  | { type: "inference"; requestId: number; avatar: string; frame: number; audio: Uint8Array }
  | { type: "source-frame"; requestId: number; avatar: string; frame: number; view: number };

class Reader {
  private offset = 1;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number, field: string): void {
    if (this.offset + n > this.bytes.byteLength) {
      throw new BinaryFormatError(`truncated ${this.what} message: ${field} needs ${n} bytes at offset ${this.offset}, message has ${this.bytes.byteLength}`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.offset++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  bytesOf(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  utf8(n: number, field: string): string {
    return new TextDecoder("utf-8", { fatal: false }).decode(this.bytesOf(n, field));
  }

  end(): void {
    if (this.offset !== this.bytes.byteLength) {
      throw new BinaryFormatError(`${this.what} message has ${this.bytes.byteLength - this.offset} bytes after its last field`);
    }
  }
}

/** A client-to-server binary message. */
export function decodeRequest(bytes: Uint8Array): BinaryRequest {
  if (bytes.byteLength === 0) throw new BinaryFormatError("empty binary message");
  const type = bytes[0]!;
  if (type === MSG_AUDIO) return { type: "audio", data: bytes.subarray(1) };
  if (type === MSG_INFERENCE) {
    const r = new Reader(bytes, "inference");
    const requestId = r.u32("request_id");
    const avatar = r.utf8(r.u16("name_len"), "name");
    const frame = r.u32("frame_id");
    const audio = r.bytesOf(r.u32("audio_len"), "audio");
    r.end();
    return { type: "inference", requestId, avatar, frame, audio };
  }
  if (type === MSG_SOURCE_FRAME) {
    const r = new Reader(bytes, "source frame");
    const requestId = r.u32("request_id");
    const avatar = r.utf8(r.u16("name_len"), "name");
    const frame = r.u32("frame_id");
    const view = r.u8("view");
    r.end();
    return { type: "source-frame", requestId, avatar, frame, view };
  }
  throw new BinaryFormatError(`unknown binary message type 0x${type.toString(16).padStart(2, "0")}`);
}
