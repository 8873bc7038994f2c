/**
 * Checks a command makes before any heavy work (loading models, decoding frames), so a missing
 * tool, a read-only folder or a busy port is reported in milliseconds, not after seconds of work.
 */
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { parseWav, type DecodedAudio } from "../audio/wav.js";
import { MAX_INPUT_RATE } from "../audio/constants.js";
import { UsageError } from "./options.js";

export function requireFfmpeg(): void {
  const r = spawnSync("ffmpeg", ["-version"], { stdio: "ignore" });
  if (r.error || r.status !== 0) throw new Error("ffmpeg is needed and was not found on PATH (Debian/Ubuntu: apt-get install ffmpeg)");
}

/** The folder `file` will be written into exists and is writable. */
export function checkWritableFolder(file: string, option: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--${option}: folder ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`--${option}: folder ${dir} is not writable`);
  }
}

export function checkReadableFile(file: string, option: string): void {
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`--${option}: ${file} is not a file`);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new UsageError(`--${option}: ${file} is not readable`);
  }
}

/** Every folder given with --avatars exists (a typo would otherwise serve no avatars, silently). */
export function checkAvatarFolders(roots: string[]): void {
  for (const root of roots) {
    if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--avatars: folder ${root} does not exist`);
  }
}

/** The port can be bound now (0 always can). */
export function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      reject(new UsageError(err.code === "EADDRINUSE" ? `port ${port} is already in use (--port picks another; 0 picks a free one)`
        : err.code === "EACCES" ? `port ${port} needs privileges on this machine (pick one above 1023)` : `cannot listen on ${host}:${port}: ${err.code ?? err.message}`));
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * Any audio file ffmpeg can read (WAV of any kind, MP3, OGG, FLAC, M4A, a video's sound track),
 * as mono float samples at the file's own rate (above 192 kHz, at 48 kHz).
 */
export async function decodeAudioFile(file: string): Promise<DecodedAudio> {
  const decode = (extra: string[]) => new Promise<Buffer>((resolve, reject) => {
    const p = spawn("ffmpeg", ["-nostdin", "-loglevel", "error", "-i", file, "-vn", "-ac", "1", ...extra, "-c:a", "pcm_f32le", "-f", "wav", "pipe:1"], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => reject(new Error(`ffmpeg could not start: ${e.message}`)));
    p.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`cannot decode ${path.basename(file)} as audio: ${err.trim().split("\n").slice(-1)[0] ?? `ffmpeg exit ${code}`}`));
    });
  });
  let audio = parseWav(await decode([]));
  if (audio.sampleRate > MAX_INPUT_RATE) audio = parseWav(await decode(["-ar", "48000"]));
  if (audio.samples.length === 0) throw new Error(`${path.basename(file)} holds no audio samples`);
  return audio;
}
