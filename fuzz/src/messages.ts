/**
 * Hostile requests of lipsync.v1, shared by the protobuf transports (gRPC, gRPC-Web, Connect
 * binary) and, as JSON, by Connect JSON: valid messages with odd values (empty, huge, out of
 * range), raw protobuf that breaks the wire format, and audio that breaks its format.
 *
 * Work is bounded: a case renders at most a few frames or half a second of speech, so that a
 * few thousand cases stay a CI-sized run.
 */
import { create, toBinary, toJson, type DescMessage } from "@bufbuild/protobuf";
import {
  AudioEncoding, GetAvatarRequestSchema, GetSourceFrameRequestSchema, GetStatsRequestSchema, ListAvatarsRequestSchema, LoadAvatarRequestSchema,
  RenderFrameRequestSchema, RenderFramesRequestSchema, SpeakAudioRequestSchema, SpeakRequestSchema, StreamRenderRequestSchema,
  UnloadAvatarRequestSchema, type SpeakRequest,
} from "@lipsync/proto";
import { concat, mutate, type Rng } from "./rng.js";

export const SERVICE = "lipsync.v1.LipSyncService";

export type MethodKind = "unary" | "server" | "client" | "bidi";

export interface Method {
  name: string;
  kind: MethodKind;
  schema: DescMessage;
}

export const METHODS: Method[] = [
  { name: "ListAvatars", kind: "unary", schema: ListAvatarsRequestSchema },
  { name: "GetAvatar", kind: "unary", schema: GetAvatarRequestSchema },
  { name: "LoadAvatar", kind: "unary", schema: LoadAvatarRequestSchema },
  { name: "UnloadAvatar", kind: "unary", schema: UnloadAvatarRequestSchema },
  { name: "GetSourceFrame", kind: "unary", schema: GetSourceFrameRequestSchema },
  { name: "RenderFrame", kind: "unary", schema: RenderFrameRequestSchema },
  { name: "RenderFrames", kind: "unary", schema: RenderFramesRequestSchema },
  { name: "GetStats", kind: "unary", schema: GetStatsRequestSchema },
  { name: "StreamRender", kind: "bidi", schema: StreamRenderRequestSchema },
  { name: "Speak", kind: "bidi", schema: SpeakRequestSchema },
  { name: "SpeakAudio", kind: "server", schema: SpeakAudioRequestSchema },
];

export const UNARY = METHODS.filter((m) => m.kind === "unary");

/** Avatar names: the real one (most cases), and names no avatar has or could have. */
export function avatarName(rng: Rng): string {
  return rng.weighted([
    [6, "demo"], [1, ""], [1, "ghost"], [1, "../../etc/passwd"], [1, "demo/../demo"], [1, "a".repeat(rng.int(200, 5000))], [1, "demo\u0000"],
    [1, "\ud800"], [1, "DEMO"], [1, " demo"], [1, "%2e%2e"],
  ]);
}

/** uint32 values: in range, at the edges, past the end. */
export function u32(rng: Rng): number {
  return rng.pick([0, 1, 2, 64, 124, 125, 126, 1000, 2 ** 16, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]);
}

/** A valid message of `method`'s request type with hostile values. Never unloads the demo avatar. */
export function request(rng: Rng, method: Method): object {
  const frameIndex = () => (rng.chance(0.7) ? rng.int(0, 130) : u32(rng));
  const quality = () => rng.pick([0, 0, 1, 50, 85, 100, 101, 1000, 2 ** 32 - 1]);
  const format = () => rng.pick([0, 1, 2, 3, 99]);
  switch (method.name) {
    case "GetAvatar":
    case "LoadAvatar":
      return create(method.schema, { name: avatarName(rng) });
    case "UnloadAvatar":
      return create(method.schema, { name: rng.pick(["ghost", "", "../demo", "x".repeat(300)]) });
    case "GetSourceFrame":
      return create(GetSourceFrameRequestSchema, { avatar: avatarName(rng), index: frameIndex(), view: rng.pick([0, 1, 2, 3, 7]), format: format() });
    case "RenderFrame":
    case "StreamRender":
      return create(method.schema as typeof RenderFrameRequestSchema, { avatar: avatarName(rng), index: frameIndex(), format: format(), quality: quality() });
    case "RenderFrames": {
      // 257 indices are refused before any work; a few frames are rendered.
      const n = rng.weighted([[8, rng.int(0, 3)], [1, 257], [1, 10_000]]);
      return create(RenderFramesRequestSchema, { avatar: avatarName(rng), indices: Array.from({ length: n }, frameIndex), format: format(), quality: quality() });
    }
    case "SpeakAudio":
      return speakAudio(rng);
    case "Speak":
      return speakSequence(rng)[0] ?? create(SpeakRequestSchema);
    default:
      return create(method.schema);
  }
}

export function encode(method: Method, message: object): Uint8Array {
  return toBinary(method.schema, message as never);
}

export function encodeJson(method: Method, message: object): unknown {
  return toJson(method.schema, message as never);
}

/** PCM chunk bytes of a format: mostly short valid audio, else odd byte counts, NaN/Inf, noise, nothing, too much. */
export function audioBytes(rng: Rng, encoding: "s16" | "f32", channels = 1, clean = false): Uint8Array {
  const frame = (encoding === "s16" ? 2 : 4) * channels;
  const kind = clean ? "speech" : rng.weighted([[5, "speech"], [2, "odd"], [2, "nan"], [1, "noise"], [1, "empty"], [1, "over-limit"]] as const);
  const samples = rng.int(1, 1600);
  switch (kind) {
    case "speech": {
      const out = new Uint8Array(samples * frame);
      const v = new DataView(out.buffer);
      for (let i = 0; i < samples * channels; i++) {
        const x = 0.3 * Math.sin(i * 0.07) * Math.sin(i * 0.002);
        if (encoding === "s16") v.setInt16(i * 2, Math.round(x * 32767), true);
        else v.setFloat32(i * 4, x, true);
      }
      return out;
    }
    case "odd":
      return rng.bytes(samples * frame + rng.int(1, frame - 1));
    case "nan": {
      const out = new Uint8Array(samples * 4);
      const v = new DataView(out.buffer);
      for (let i = 0; i < samples; i++) v.setFloat32(i * 4, rng.pick([NaN, Infinity, -Infinity, 1e30, -1e-45, 0]), true);
      return out;
    }
    case "noise":
      return rng.bytes(samples * frame);
    case "empty":
      return new Uint8Array(0);
    case "over-limit":
      // Just past the 1 MiB chunk limit: RESOURCE_EXHAUSTED, never decoded.
      return new Uint8Array(1024 * 1024 + frame);
  }
}

/** Sample rates: the usual, the edges, and 0 / 1 / 10^9. */
export function sampleRate(rng: Rng): number {
  return rng.weighted([[6, rng.pick([16000, 24000, 48000, 8000, 44100])], [1, rng.pick([0, 1, 7999, 192000, 192001, 1_000_000_000, 2 ** 32 - 1])]]);
}

/** A Speak stream: config (or not), then audio, clear, end and positions in any order. */
export function speakSequence(rng: Rng): SpeakRequest[] {
  const encoding = rng.weighted([[6, AudioEncoding.PCM_S16LE], [3, AudioEncoding.PCM_F32LE], [1, AudioEncoding.WAV], [1, AudioEncoding.UNSPECIFIED], [1, 99]]);
  const channels = rng.weighted([[8, 1], [2, 2], [1, 0], [1, 3]]);
  const config = create(SpeakRequestSchema, {
    message: {
      case: "config",
      value: {
        avatar: avatarName(rng), audioFormat: rng.chance(0.95) ? { encoding, sampleRate: sampleRate(rng), channels } : undefined,
        continuous: rng.chance(0.2), imageFormat: rng.pick([0, 1, 1, 2, 9]), quality: rng.pick([0, 0, 40, 100, 101]), mouthPatch: rng.chance(0.7),
      },
    },
  });
  const pcm = encoding === AudioEncoding.PCM_F32LE ? "f32" : "s16";
  const out: SpeakRequest[] = [];
  // Mostly in order (config first, once); sometimes not.
  if (rng.chance(0.9)) out.push(config);
  let budget = 3200; // samples of audio at most (a fifth of a second at 16 kHz): each case renders a few frames
  for (let i = rng.int(0, 8); i > 0; i--) {
    const step = rng.weighted([[6, "audio"], [1, "end"], [1, "clear"], [1, "position"], [1, "config"], [1, "empty"]] as const);
    if (step === "audio") {
      const data = audioBytes(rng, pcm, channels === 2 ? 2 : 1);
      if (data.length <= 1024 * 1024 && (budget -= data.length / 2) < 0) continue;
      out.push(create(SpeakRequestSchema, { message: { case: "audio", value: { data } } }));
    } else if (step === "end") out.push(create(SpeakRequestSchema, { message: { case: "end", value: {} } }));
    else if (step === "clear") out.push(create(SpeakRequestSchema, { message: { case: "clear", value: {} } }));
    else if (step === "position") {
      out.push(create(SpeakRequestSchema, { message: { case: "playbackPosition", value: { pts: rng.pick([0n, -1n, 640n, 2n ** 63n - 1n, -(2n ** 63n), 10n ** 15n]) } } }));
    } else if (step === "config") out.push(config);
    else out.push(create(SpeakRequestSchema));
  }
  if (rng.chance(0.7)) out.push(create(SpeakRequestSchema, { message: { case: "end", value: {} } }));
  return out;
}

/** A RIFF/WAVE header (44 bytes) with the given fields, then `data`. */
export function wav(fields: { format?: number; channels?: number; rate?: number; bits?: number; dataSize?: number; riffSize?: number }, data: Uint8Array): Uint8Array {
  const { format = 1, channels = 1, rate = 16000, bits = 16 } = fields;
  const h = new DataView(new ArrayBuffer(44));
  const ascii = (at: number, s: string) => [...s].forEach((c, i) => h.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  h.setUint32(4, fields.riffSize ?? 36 + data.length, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  h.setUint32(16, 16, true);
  h.setUint16(20, format, true);
  h.setUint16(22, channels, true);
  h.setUint32(24, rate >>> 0, true);
  h.setUint32(28, (rate * channels * Math.max(1, bits / 8)) >>> 0, true);
  h.setUint16(32, (channels * bits) / 8, true);
  h.setUint16(34, bits, true);
  ascii(36, "data");
  h.setUint32(40, fields.dataSize ?? data.length, true);
  return concat(new Uint8Array(h.buffer), data);
}

/** A SpeakAudio clip: WAV with bad headers, or PCM in any of the ways audioBytes breaks it. */
function speakAudio(rng: Rng) {
  // At most half a second at 16 kHz: a whole clip is rendered, however long.
  const speech = audioBytes(rng, "s16").subarray(0, 16000);
  const asWav = rng.chance(0.5);
  const audio = asWav
    ? rng.weighted([
      [4, wav({}, speech)],
      [1, wav({ rate: rng.pick([0, 1, 1_000_000_000]) }, speech)],
      [1, wav({ channels: rng.pick([0, 3, 65535]) }, speech)],
      [1, wav({ bits: rng.pick([0, 3, 12, 64, 65535]) }, speech)],
      [1, wav({ format: rng.pick([0, 2, 3, 0xfffe, 85]) }, speech)],
      [1, wav({ dataSize: rng.pick([0, 0xffffffff, speech.length + 1]) }, speech)],
      [1, wav({ riffSize: 0xffffffff }, speech)],
      [1, mutate(rng, wav({}, speech))],
      [1, wav({}, speech).subarray(0, rng.int(0, 43))],
    ])
    : speech;
  return create(SpeakAudioRequestSchema, {
    avatar: avatarName(rng), audio,
    audioFormat: { encoding: asWav ? AudioEncoding.WAV : rng.pick([AudioEncoding.PCM_S16LE, AudioEncoding.UNSPECIFIED, 99]), sampleRate: sampleRate(rng), channels: rng.pick([0, 1, 2, 5]) },
    imageFormat: rng.pick([0, 1, 2]), quality: rng.pick([0, 50, 101]), mouthPatch: rng.chance(0.8),
  });
}

// Raw protobuf writing, for messages that break the wire format itself.
function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

/**
 * Bytes that are not a valid protobuf encoding, or are one with the wrong types: a length past
 * the end, an 11-byte varint, a field of the wrong wire type, field number 0, an end-group tag
 * with no group, deep nesting, or a valid message mutated at random.
 */
export function brokenProtobuf(rng: Rng, method: Method): Uint8Array {
  const valid = encode(method, request(rng, method));
  return rng.weighted<() => Uint8Array>([
    [4, () => mutate(rng, valid)],
    [1, () => Uint8Array.from([0x0a, ...varint(BigInt(rng.pick([10, 1000, 2 ** 31, 2 ** 32 - 1]))), 0x41])],
    [1, () => Uint8Array.from([0x10, ...Array(10).fill(0xff), 0x01])],
    [1, () => Uint8Array.from([0x12, 0x03, 0x01, 0x02, 0x03])], // field 2 as bytes where it is a varint
    [1, () => Uint8Array.from([0x0d, 0x00, 0x00, 0x80, 0x7f])], // field 1 as fixed32 (+Inf)
    [1, () => Uint8Array.from([0x00, 0x01])], // field number 0
    [1, () => Uint8Array.from([0x0c])], // end group without a start
    [1, () => Uint8Array.from([0x0b, 0x0b, 0x0b, 0x0b])], // start groups, never ended
    [1, () => Uint8Array.from([0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01])], // the largest field number
    [1, () => {
      // Nested length-delimited fields 2000 deep (an unknown field, so the parser skips or recurses).
      let m: number[] = [];
      for (let i = 0; i < 2000; i++) m = [0x7a, ...varint(BigInt(m.length)), ...m];
      return Uint8Array.from(m);
    }],
    [1, () => rng.bytes(rng.int(1, 64))],
  ])();
}
