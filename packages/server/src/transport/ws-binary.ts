/**
 * The binary WebSocket messages (docs/protocol.md), little-endian. Decoding checks every length
 * against the bytes actually present, so a truncated message is an error, never a misread
 * (the seed's proxy and client disagreed on a length prefix).
 */
import type { Rect } from "../engine/image-ops.js";
import type { ImageEncoding, StageTimings } from "../engine/renderer.js";
import { invalidArgument } from "../errors.js";

export const MSG_AUDIO = 0x01;
export const MSG_INFERENCE = 0x02;
export const MSG_SOURCE_FRAME = 0x03;
export const MSG_FRAME = 0x10;
export const MSG_SOURCE_FRAME_RESULT = 0x11;
export const MSG_ERROR = 0x1f;

export const FRAME_HEADER_BYTES = 64;
export const SOURCE_HEADER_BYTES = 20;

export const KIND_IDLE = 0;
export const KIND_SPEECH = 1;
export const KIND_INFERENCE = 2;

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
      throw invalidArgument(`truncated ${this.what} message: ${field} needs ${n} bytes at offset ${this.offset}, message has ${this.bytes.byteLength}`);
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
      throw invalidArgument(`${this.what} message has ${this.bytes.byteLength - this.offset} bytes after its last field`);
    }
  }
}

export function decodeBinaryRequest(bytes: Uint8Array): BinaryRequest {
  if (bytes.byteLength === 0) throw invalidArgument("empty binary message");
  const type = bytes[0];
  if (type === MSG_AUDIO) return { type: "audio", data: bytes.subarray(1) };
  if (type === MSG_INFERENCE) {
    const r = new Reader(bytes, "inference");
    const requestId = r.u32("request_id");
    const name = r.utf8(r.u16("name_len"), "name");
    const frame = r.u32("frame_id");
    const audio = r.bytesOf(r.u32("audio_len"), "audio");
    r.end();
    return { type: "inference", requestId, avatar: name, frame, audio };
  }
  if (type === MSG_SOURCE_FRAME) {
    const r = new Reader(bytes, "source frame");
    const requestId = r.u32("request_id");
    const name = r.utf8(r.u16("name_len"), "name");
    const frame = r.u32("frame_id");
    const view = r.u8("view");
    r.end();
    return { type: "source-frame", requestId, avatar: name, frame, view };
  }
  throw invalidArgument(`unknown binary message type 0x${type!.toString(16).padStart(2, "0")}`);
}

/** Flag bits of a FRAME message's byte 3. */
export const FLAG_PATCH = 0x01;

export interface BinaryFrame {
  kind: number;
  patch: boolean;
  encoding: ImageEncoding;
  requestId: number;
  sourceIndex: number;
  pts: number;
  width: number;
  height: number;
  mouthRect: Rect | undefined;
  timings: StageTimings | undefined;
  image: Uint8Array;
}

export function encodeFrame(f: BinaryFrame): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + f.image.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, MSG_FRAME);
  v.setUint8(1, f.kind);
  v.setUint8(2, f.encoding === "rgb" ? 2 : 1);
  v.setUint8(3, f.patch ? FLAG_PATCH : 0);
  v.setUint32(4, f.requestId, true);
  v.setUint32(8, f.sourceIndex, true);
  v.setFloat64(12, f.pts, true);
  v.setUint16(20, f.width, true);
  v.setUint16(22, f.height, true);
  const [bx, by, bw, bh] = f.mouthRect ?? [0, 0, 0, 0];
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

export function encodeError(requestId: number, status: number, message: string): Uint8Array {
  const text = new TextEncoder().encode(message);
  const out = new Uint8Array(12 + text.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, MSG_ERROR);
  v.setUint16(2, status, true);
  v.setUint32(4, requestId, true);
  v.setUint32(8, text.byteLength, true);
  out.set(text, 12);
  return out;
}
