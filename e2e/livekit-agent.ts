/**
 * The agent's side of LiveKit's avatar protocol, written out with @livekit/rtc-node for tests
 * and benchmarks that drive the avatar directly: one `lk.audio_stream` byte stream per utterance
 * (raw s16 PCM, attributes sample_rate and num_channels), `lk.clear_buffer` to barge in, and the
 * avatar's `lk.playback_started` / `lk.playback_finished` reports recorded with their times.
 * (The agent plugin's own test uses @livekit/agents' DataStreamAudioOutput instead.)
 */
import { readFileSync } from "node:fs";
import "./livekit-quiet.js";
import { Room } from "@livekit/rtc-node";

export interface Report {
  at: number;
  method: "lk.playback_started" | "lk.playback_finished";
  payload: { playback_position?: number; interrupted?: boolean };
  from: string;
}

export interface SendOptions {
  /** Bytes of one chunk (default 20 ms of audio). */
  chunkBytes?: number;
  /** Pace chunks in real time (a live TTS); default false: as fast as the stream takes them. */
  realtime?: boolean;
  /** Stream attributes; default sample_rate and num_channels of the audio. */
  attributes?: Record<string, string>;
  /** Called as each chunk is written, with its time and its first sample's index. */
  onChunk?: (at: number, sample: number) => void;
  /** Stops sending (the stream is closed where it got to), as an agent stops its TTS. */
  signal?: AbortSignal;
}

export class ProtocolAgent {
  readonly room = new Room();
  readonly reports: Report[] = [];

  async join(url: string, token: string): Promise<void> {
    await this.room.connect(url, token, { autoSubscribe: false, dynacast: false });
    for (const method of ["lk.playback_started", "lk.playback_finished"] as const) {
      this.room.localParticipant!.registerRpcMethod(method, async (d) => {
        this.reports.push({ at: performance.now(), method, payload: d.payload ? JSON.parse(d.payload) : {}, from: d.callerIdentity });
        return "ok";
      });
    }
  }

  /** Streams one utterance of 16-bit mono PCM at `rate` to `avatar`. */
  async say(avatar: string, pcm: Int16Array, rate: number, o: SendOptions = {}): Promise<void> {
    const writer = await this.room.localParticipant!.streamBytes({
      name: `utterance-${Date.now()}`, topic: "lk.audio_stream", destinationIdentities: [avatar],
      attributes: o.attributes ?? { sample_rate: String(rate), num_channels: "1" },
    });
    const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const chunk = o.chunkBytes ?? Math.round(rate * 0.02) * 2;
    const start = performance.now();
    for (let i = 0; i < bytes.length && !o.signal?.aborted; i += chunk) {
      if (o.realtime) {
        const due = start + ((i / 2 / rate) * 1000);
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      }
      o.onChunk?.(performance.now(), i / 2);
      await writer.write(bytes.subarray(i, Math.min(bytes.length, i + chunk)));
    }
    await writer.close();
  }

  clearBuffer(avatar: string): Promise<string> {
    return this.room.localParticipant!.performRpc({ destinationIdentity: avatar, method: "lk.clear_buffer", payload: "" });
  }

  finished(): Report[] {
    return this.reports.filter((r) => r.method === "lk.playback_finished");
  }

  async close(): Promise<void> {
    await this.room.disconnect();
  }
}

/** A 16-bit mono WAV's samples and rate (the plain PCM WAVs Debian's sound packages ship). */
export function readWav(file: string): { pcm: Int16Array; rate: number } {
  const b = readFileSync(file);
  let off = 12;
  let rate = 0;
  while (off + 8 <= b.length) {
    const id = b.toString("ascii", off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === "fmt ") {
      if (b.readUInt16LE(off + 8) !== 1 || b.readUInt16LE(off + 10) !== 1 || b.readUInt16LE(off + 22) !== 16) throw new Error(`${file}: not 16-bit mono PCM`);
      rate = b.readUInt32LE(off + 12);
    } else if (id === "data") {
      const data = b.subarray(off + 8, off + 8 + size);
      return { pcm: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)), rate };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}
