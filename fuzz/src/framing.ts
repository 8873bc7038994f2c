/**
 * The 5-byte message envelope that gRPC, gRPC-Web and Connect streaming share (a flags byte,
 * then a big-endian u32 length), written right or wrong, and the gRPC status of an answer.
 */
import { gzipSync } from "node:zlib";
import { concat, type Rng } from "./rng.js";
import { findLeak, GRPC_INTERNAL, GRPC_OK_CODES, type Verdict } from "./oracle.js";

export function envelope(payload: Uint8Array, flags = 0, length = payload.length): Uint8Array {
  const h = new Uint8Array(5);
  h[0] = flags;
  new DataView(h.buffer).setUint32(1, length >>> 0, false);
  return concat(h, payload);
}

export type FramingFault = "none" | "length-long" | "length-short" | "length-huge" | "truncated-header" | "compressed-flag" | "trailer-flag" | "reserved-flags";

/** An envelope broken in one way (or not); `fault` names the way. */
export function badEnvelope(rng: Rng, payload: Uint8Array, fault: FramingFault): Uint8Array {
  switch (fault) {
    case "none":
      return envelope(payload);
    case "length-long":
      return envelope(payload, 0, payload.length + rng.int(1, 4096));
    case "length-short":
      return envelope(payload, 0, Math.max(0, payload.length - rng.int(1, Math.max(1, payload.length))));
    case "length-huge":
      return envelope(payload, 0, rng.pick([0x7fffffff, 0xffffffff, 17 * 1024 * 1024]));
    case "truncated-header":
      return envelope(payload).subarray(0, rng.int(1, 4));
    case "compressed-flag":
      return envelope(payload, 1);
    case "trailer-flag":
      return envelope(payload, 0x80);
    case "reserved-flags":
      return envelope(payload, rng.pick([0x02, 0x04, 0x40, 0xff]));
  }
}

export const FRAMING_FAULTS: readonly (readonly [number, FramingFault])[] = [
  [3, "length-long"], [3, "length-short"], [2, "length-huge"], [2, "truncated-header"], [2, "compressed-flag"], [1, "trailer-flag"], [1, "reserved-flags"],
];

/** A gzip "bomb": a few KB that inflate past the server's 16 MiB message limit. */
export function gzipBomb(): Uint8Array {
  return gzipSync(new Uint8Array(17 * 1024 * 1024));
}

export interface GrpcAnswer {
  /** HTTP status. */
  http?: number;
  contentType?: string;
  grpcStatus?: number;
  grpcMessage?: string;
  /** The stream was reset by the server (RST_STREAM code), or the connection failed. */
  reset?: string;
  timedOut: boolean;
}

/** grpc-message is percent-encoded (gRPC spec). */
export function decodeGrpcMessage(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The short name of an answer, for the tally of answers seen. */
export function grpcAnswerName(a: GrpcAnswer): string {
  if (a.timedOut) return "timeout";
  if (a.grpcStatus !== undefined) return `grpc-status ${a.grpcStatus}`;
  if (a.reset) return `reset ${a.reset}`;
  return `http ${a.http ?? "none"}`;
}

/** A path that names a method ("/pkg.Service/Method", as the server's router reads it). */
export function rpcShaped(path: string): boolean {
  return path.length <= 256 && /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/.test(path);
}

/**
 * Judges a gRPC (or gRPC-Web) answer. `mustAnswer`: the request was complete, so a status is owed;
 * false for streams we cut ourselves, where only the server's survival counts. A path that does
 * not name a method at all may get a plain HTTP 404 or 405 instead of a gRPC status.
 */
export function grpcVerdict(a: GrpcAnswer, mustAnswer: boolean, path = "/a.B/C"): Verdict {
  const detail = `${grpcAnswerName(a)}${a.grpcMessage ? `: ${a.grpcMessage}` : ""}`;
  const leak = findLeak(a.grpcMessage);
  if (leak) return { failure: "leak", detail: leak };
  if (!mustAnswer) return { detail };
  if (a.timedOut) return { failure: "hang", detail };
  if (a.grpcStatus === undefined) {
    // Not a gRPC content type: the gRPC spec's answer is HTTP 415.
    if (a.http === 415) return { detail };
    if ((a.http === 404 || a.http === 405) && !rpcShaped(path)) return { detail };
    return { failure: "no_status", detail };
  }
  if (GRPC_INTERNAL.has(a.grpcStatus)) return { failure: "internal", detail };
  if (!GRPC_OK_CODES.has(a.grpcStatus)) return { failure: "undocumented", detail };
  return { detail };
}
