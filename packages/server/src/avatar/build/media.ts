/**
 * Video through ffmpeg: what a file holds (ffprobe), its frames resampled to 25 fps as raw RGB
 * (streamed, one frame in memory at a time) and its audio as 16 kHz mono PCM.
 */
import { spawn } from "node:child_process";
import { FPS, SAMPLE_RATE } from "../../audio/constants.js";
import type { RgbImage } from "../../engine/image-ops.js";
import { LipSyncError } from "../../errors.js";

export interface VideoInfo {
  width: number;
  height: number;
  /** Seconds. */
  duration: number;
  hasAudio: boolean;
}

function bad(file: string, what: string): LipSyncError {
  return new LipSyncError("invalid_argument", `${file}: ${what}`);
}

function collect(cmd: string, args: string[], file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", () => reject(new LipSyncError("failed_precondition", `${cmd} is not installed (apt-get install ffmpeg)`)));
    p.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(bad(file, `${cmd} cannot read it (${err.trim().split("\n").slice(-1)[0] ?? "unknown error"}): is it a complete video file?`));
    });
  });
}

export async function probe(file: string): Promise<VideoInfo> {
  const text = (await collect("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration", "-of", "json", file], file)).toString();
  let json: { streams?: { codec_type?: string; width?: number; height?: number }[]; format?: { duration?: string } };
  try {
    json = JSON.parse(text);
  } catch {
    throw bad(file, "ffprobe gave no readable description: is it a video file?");
  }
  const video = json.streams?.find((s) => s.codec_type === "video" && s.width && s.height);
  if (!video) throw bad(file, "has no video stream: give a video file (MP4, MOV, WebM, ...)");
  const duration = Number(json.format?.duration ?? "NaN");
  if (!Number.isFinite(duration) || duration <= 0) throw bad(file, "has no readable duration: the file may be truncated");
  return { width: video.width!, height: video.height!, duration, hasAudio: Boolean(json.streams?.some((s) => s.codec_type === "audio")) };
}

/**
 * The video's frames at 25 fps, scaled to width x height (even sizes), as raw RGB. Ends early
 * without error only when ffmpeg does; a decoding failure throws with ffmpeg's last words.
 */
export async function* frames(file: string, width: number, height: number): AsyncGenerator<RgbImage> {
  const p = spawn("ffmpeg", ["-v", "error", "-nostdin", "-i", file, "-vf", `fps=${FPS},scale=${width}:${height}:flags=area`, "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  const closed = new Promise<number>((resolve) => p.on("close", (code) => resolve(code ?? 1)));
  p.on("error", () => undefined);
  const size = width * height * 3;
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of p.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= size) {
        const data = new Uint8Array(size);
        data.set(pending.subarray(0, size));
        pending = pending.subarray(size);
        yield { data, width, height };
      }
    }
  } finally {
    if (p.exitCode === null) p.kill();
  }
  const code = await closed;
  if (code !== 0 && err.trim()) throw bad(file, `ffmpeg stopped decoding it (${err.trim().split("\n").slice(-1)[0]}): the file may be corrupt or truncated`);
}

/** The audio track as 16 kHz mono float samples (empty when the video has none). */
export async function audio(file: string): Promise<Float32Array> {
  const raw = await collect("ffmpeg", ["-v", "error", "-nostdin", "-i", file, "-vn", "-ac", "1", "-ar", String(SAMPLE_RATE), "-f", "s16le", "pipe:1"], file);
  const pcm = new Int16Array(raw.buffer, raw.byteOffset, Math.floor(raw.byteLength / 2));
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

/** A 16-bit mono WAV file of `samples` at 16 kHz (what the package's audio_track holds). */
export function wavBytes(samples: Float32Array): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768))), i * 2);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(SAMPLE_RATE, 24);
  h.writeUInt32LE(SAMPLE_RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
