/**
 * The avatar's two tracks in the room: video (source CAMERA) of raw frames, which LiveKit's
 * media stack encodes, and audio (source MICROPHONE) of the speech. The audio source queues what
 * it is given and sends it in real time; the room session keeps it a fixed few slots ahead
 * (playout.ts), so that the frame shown now and the audio leaving now belong together.
 */
import type { LocalParticipant, AudioSource, VideoSource, VideoFrame } from "@livekit/rtc-node";
import type { RgbImage } from "../../engine/image-ops.js";
import type { Rtc } from "./rtc.js";

export interface TrackOptions {
  width: number;
  height: number;
  /** Audio track rate; undefined: no audio track (the agent publishes its own). */
  audioRate: number | undefined;
  /** Audio the source may hold queued, ms: more than the playout's lead. */
  audioQueueMs: number;
  /** Video encoder's bitrate cap, bits per second, and frame rate. */
  maxBitrate: number;
  fps: number;
}

/**
 * The frame as LiveKit's video source takes it. The session's frames are RGB today, which the
 * source converts (libyuv, off this thread's JavaScript); when it hands out I420 this is the
 * one place to change.
 */
export function toVideoFrame(rtc: Rtc, image: RgbImage): VideoFrame {
  return new rtc.VideoFrame(image.data, image.width, image.height, rtc.VideoBufferType.RGB24);
}

/**
 * Both tracks name one stream: in a room with sync_streams on, a subscriber's WebRTC stack
 * plays them as one (lip sync across its audio and video jitter buffers); elsewhere the name is unused.
 */
const STREAM = "lipsync";

/** A capture timestamp: microseconds, monotonic (performance.now() has sub-ms resolution). */
function micros(ms: number): bigint {
  return BigInt(Math.round(ms * 1000));
}

export class AvatarTracks {
  private audioChain: Promise<void> = Promise.resolve();
  /** Bumped by clearAudio: captures queued before it are dropped. */
  private audioGeneration = 0;
  private last: VideoFrame | undefined;
  private closed = false;

  private constructor(
    private readonly rtc: Rtc,
    private readonly video: VideoSource,
    private readonly audio: AudioSource | undefined,
  ) {}

  static async publish(rtc: Rtc, participant: LocalParticipant, o: TrackOptions): Promise<AvatarTracks> {
    const video = new rtc.VideoSource(o.width, o.height);
    const audio = o.audioRate === undefined ? undefined : new rtc.AudioSource(o.audioRate, 1, o.audioQueueMs);
    const tracks = new AvatarTracks(rtc, video, audio);
    try {
      if (audio) {
        const track = rtc.LocalAudioTrack.createAudioTrack("lipsync-audio", audio);
        await participant.publishTrack(track, new rtc.TrackPublishOptions({ source: rtc.TrackSource.SOURCE_MICROPHONE, stream: STREAM }));
      }
      const track = rtc.LocalVideoTrack.createVideoTrack("lipsync-video", video);
      // One layer: the SFU forwards it as it is; simulcast would encode each frame two or three
      // times on the server's cores.
      await participant.publishTrack(track, new rtc.TrackPublishOptions({
        source: rtc.TrackSource.SOURCE_CAMERA, stream: STREAM, simulcast: false, videoEncoding: { maxBitrate: BigInt(o.maxBitrate), maxFramerate: o.fps },
      }));
    } catch (err) {
      await tracks.close();
      throw err;
    }
    return tracks;
  }

  /** Shows `image` from `atMs` (the slot's time, performance.now() clock). */
  show(image: RgbImage, atMs: number): void {
    if (this.closed) return;
    this.last = toVideoFrame(this.rtc, image);
    this.video.captureFrame(this.last, micros(atMs));
  }

  /** The frame on screen again (the track keeps its frame rate through a late frame). */
  repeat(atMs: number): void {
    if (this.closed || !this.last) return;
    this.video.captureFrame(this.last, micros(atMs));
  }

  /** Queues one slot of audio (mono float at the track's rate) behind the slots queued before. */
  pushAudio(samples: Float32Array): void {
    const source = this.audio;
    if (this.closed || !source || samples.length === 0) return;
    const pcm = new Int16Array(samples.length);
    for (let i = 0; i < samples.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768)));
    const frame = new this.rtc.AudioFrame(pcm, source.sampleRate, 1, pcm.length);
    const generation = this.audioGeneration;
    this.audioChain = this.audioChain
      .then(() => (generation === this.audioGeneration && !this.closed ? source.captureFrame(frame) : undefined))
      .catch(() => undefined);
  }

  /** Barge-in: the audio queued and not yet sent is dropped. */
  clearAudio(): void {
    this.audioGeneration++;
    if (!this.closed) this.audio?.clearQueue();
  }

  /** Ends both sources (leaving the room unpublishes the tracks). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.audioGeneration++;
    await this.audio?.close().catch(() => undefined);
    await this.video.close().catch(() => undefined);
  }
}
