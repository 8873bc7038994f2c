/**
 * The session protocol, Sans-I/O: what every transport says to a live speech session and what it
 * hears back. The WebSocket (JSON and binary), gRPC Speak and SpeakAudio, `lipsync render` and the
 * LiveKit room all decode their wire messages into these commands and encode these events; none
 * of them holds session policy of its own (docs/architecture.md).
 */
import type { SessionStarted } from "@lipsync/proto";
import { MAX_INPUT_RATE, MIN_INPUT_RATE } from "../audio/constants.js";
import type { SampleEncoding } from "../audio/pcm.js";
import type { Frame, ImageEncoding } from "../engine/frame.js";
import { invalidArgument, type LipSyncError } from "../errors.js";

/** The format of a session's audio chunks. */
export interface AudioInput {
  /** Samples per second, MIN_INPUT_RATE..MAX_INPUT_RATE. */
  sampleRate: number;
  encoding: SampleEncoding;
  /** Interleaved channels, mixed to mono. */
  channels: number;
}

/** Commands in. */
export type SessionCommand =
  /** A chunk of the current utterance; `format` may differ from the session's only where an utterance starts. */
  | { type: "audio"; data: Uint8Array; format?: AudioInput }
  /** Mono float samples at the input rate (a decoded clip). */
  | { type: "samples"; samples: Float32Array }
  /** End of the current utterance: its tail becomes frames. */
  | { type: "end" }
  /** Barge-in: unsent speech dropped, its work cancelled, idle at once. */
  | { type: "clear" }
  /** The player presents `pts` now (16 kHz samples): playback-finished waits for it. */
  | { type: "position"; pts: number }
  /** No more commands: the session ends once its frames are out. */
  | { type: "stop" };

/** What a session produces, in order (the session runner's output). */
export type SessionOutput =
  | { type: "frame"; frame: Frame }
  | { type: "speech-started"; pts: number }
  | { type: "speech-ended"; startPts: number; endPts: number; interrupted: boolean }
  /** The utterance has played out; `position`: its samples played (all of them unless interrupted). */
  | { type: "playback-finished"; position: number; interrupted: boolean }
  /** Speech frames [startPts, endPts) were dropped unrendered: they would have come too late. */
  | { type: "frames-dropped"; startPts: number; endPts: number }
  /**
   * A barge-in took effect here: everything before it in the stream belongs to what it cut
   * (adapters that keep their own queue, a LiveKit room's playout, skip to it; the wire
   * protocols have no message for it).
   */
  | { type: "cleared" };

/** Events out: the answer to the start first, then outputs; the stream ends after "error" or the last output. */
export type SessionEvent =
  | { type: "started"; started: SessionStarted }
  | SessionOutput
  | { type: "error"; error: LipSyncError };

/** What a transport asks for when it starts a session (the "start" of the protocol). */
export interface SessionRequest {
  avatar: string;
  audio: AudioInput;
  /** Pace idle frames in real time between utterances (one continuous stream). */
  continuous: boolean;
  encoding: ImageEncoding;
  /** JPEG quality 1..100; default the server's. */
  quality?: number;
  /** Speech frames as mouth patches. */
  patch?: boolean;
  /**
   * The consumer plays frames as they come (default): late frames are dropped past the latency
   * bound. False for offline rendering, where every frame is wanted however long it takes.
   */
  realtime?: boolean;
}

/** Checks an audio format, naming the field; every transport's formats come through here. */
export function checkAudioInput(a: AudioInput): AudioInput {
  if (!Number.isInteger(a.sampleRate) || a.sampleRate < MIN_INPUT_RATE || a.sampleRate > MAX_INPUT_RATE) {
    throw invalidArgument(`sample_rate must be an integer ${MIN_INPUT_RATE}..${MAX_INPUT_RATE}, got ${a.sampleRate}`);
  }
  if (a.channels !== 1 && a.channels !== 2) throw invalidArgument(`channels must be 1 or 2, got ${a.channels}`);
  if (a.encoding !== "s16le" && a.encoding !== "f32le") throw invalidArgument("encoding must be pcm_s16le or pcm_f32le");
  return a;
}

export function sameAudioInput(a: AudioInput, b: AudioInput): boolean {
  return a.sampleRate === b.sampleRate && a.encoding === b.encoding && a.channels === b.channels;
}
