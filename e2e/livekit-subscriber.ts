/**
 * A room participant that watches the avatar, for tests and benchmarks: subscribes to its video
 * and audio tracks and records when each frame and each audio frame arrived. Video frames are
 * kept as a small luma patch of the mouth (4x4 blocks of the I420 Y plane), enough to tell the
 * avatar's idle footage from speech (idleDistance) without holding whole frames.
 */
import "./livekit-quiet.js";
import { AudioStream, Room, RoomEvent, TrackKind, VideoStream, type RemoteTrack } from "@livekit/rtc-node";

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface VideoRecord {
  /** performance.now() when the frame was handed to us. */
  at: number;
  width: number;
  height: number;
  /** Mean luma of 4x4 blocks of `box`, row by row. */
  patch: Float32Array;
}

export interface AudioRecord {
  at: number;
  samples: Int16Array;
}

const BLOCK = 4;

/** Luma (BT.601 limited range, as libyuv converts RGB to I420) of 4x4 blocks of `box` in an RGB frame. */
export function rgbPatch(rgb: Uint8Array, width: number, box: Box): Float32Array {
  return patchOf((x, y) => {
    const i = (y * width + x) * 3;
    return ((66 * rgb[i]! + 129 * rgb[i + 1]! + 25 * rgb[i + 2]! + 128) >> 8) + 16;
  }, box);
}

function patchOf(luma: (x: number, y: number) => number, box: Box): Float32Array {
  const bw = Math.floor(box.width / BLOCK);
  const bh = Math.floor(box.height / BLOCK);
  const out = new Float32Array(bw * bh);
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      let sum = 0;
      for (let dy = 0; dy < BLOCK; dy++) for (let dx = 0; dx < BLOCK; dx++) sum += luma(box.x + bx * BLOCK + dx, box.y + by * BLOCK + dy);
      out[by * bw + bx] = sum / (BLOCK * BLOCK);
    }
  }
  return out;
}

/** Mean absolute difference of `patch` from the nearest of `idle` (luma levels). */
export function idleDistance(patch: Float32Array, idle: Float32Array[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (const ref of idle) {
    let d = 0;
    for (let i = 0; i < patch.length; i++) d += Math.abs(patch[i]! - ref[i]!);
    best = Math.min(best, d / patch.length);
  }
  return best;
}

/** A stream's chunks (read through a reader: the DOM and Node typings of ReadableStream differ on iteration). */
async function* iterate<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value as T;
    }
  } finally {
    reader.releaseLock();
  }
}

export class Subscriber {
  readonly room = new Room();
  readonly video: VideoRecord[] = [];
  readonly audio: AudioRecord[] = [];
  private readonly kinds = new Set<TrackKind>();
  private closed = false;

  constructor(private readonly avatarIdentity: string, private readonly box: Box, private readonly audioRate: number) {}

  async join(url: string, token: string): Promise<void> {
    this.room.on(RoomEvent.TrackSubscribed, (track, _pub, participant) => {
      if (participant.identity === this.avatarIdentity) void this.record(track);
    });
    await this.room.connect(url, token, { autoSubscribe: true, dynacast: false });
  }

  /** Both of the avatar's tracks are subscribed (or `kinds` of them). */
  has(kinds: TrackKind[] = [TrackKind.KIND_VIDEO, TrackKind.KIND_AUDIO]): boolean {
    return kinds.every((k) => this.kinds.has(k));
  }

  private async record(track: RemoteTrack): Promise<void> {
    this.kinds.add(track.kind!);
    if (track.kind === TrackKind.KIND_VIDEO) {
      for await (const ev of iterate(new VideoStream(track))) {
        if (this.closed) break;
        const { frame } = ev;
        // I420 (what the decoder hands out): the Y plane comes first, `width` bytes a row.
        const y = frame.data;
        const w = frame.width;
        this.video.push({ at: performance.now(), width: frame.width, height: frame.height, patch: patchOf((px, py) => y[py * w + px]!, this.box) });
      }
    } else {
      for await (const f of iterate(new AudioStream(track, { sampleRate: this.audioRate, numChannels: 1 }))) {
        if (this.closed) break;
        this.audio.push({ at: performance.now(), samples: f.data.slice() });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.room.disconnect();
  }
}
