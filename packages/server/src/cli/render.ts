/** lipsync render: an audio file to a lip-synced MP4 through the streaming path. */
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LipSyncApp } from "../app.js";
import { DEFAULTS, resolveConfig } from "../config.js";
import { playClip } from "../session/clip-feeder.js";
import { createLogger } from "../logger.js";
import { checkAvatarFolders, checkReadableFile, checkWritableFolder, decodeAudioFile, requireFfmpeg } from "./checks.js";
import { intOption, stringOption, UsageError, type Command } from "./options.js";
import { AVATAR_OPTIONS, serverOptions } from "./server-options.js";

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => reject(new Error(`${cmd} not found (apt-get install ${cmd}): ${e.message}`)));
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed: ${err.split("\n").slice(-4).join(" ")}`))));
  });
}

export const render: Command = {
  name: "render",
  summary: "lip-sync an audio file into an MP4 (frames muxed with the audio by ffmpeg)",
  options: [
    { name: "avatar", short: "a", value: "NAME", description: "avatar to render (required)" },
    { name: "audio", short: "i", value: "FILE", description: "speech to lip-sync: any audio ffmpeg reads (WAV, MP3, OGG, FLAC, M4A...) (required)" },
    { name: "out", short: "o", value: "FILE", description: "MP4 to write (required)" },
    { name: "quality", value: "Q", default: String(DEFAULTS.renderJpegQuality), description: "JPEG quality of the frames before video encoding, 1..100" },
    ...AVATAR_OPTIONS,
  ],
  async run(values) {
    const avatarName = stringOption(values, "avatar");
    const audioFile = stringOption(values, "audio");
    const out = stringOption(values, "out");
    if (!avatarName || !audioFile || !out) throw new UsageError("render needs --avatar, --audio and --out");
    const quality = intOption(values, "quality", 1, 100) ?? DEFAULTS.renderJpegQuality;
    const options = serverOptions(values);
    // Everything that can be wrong with the request is checked before the model loads.
    requireFfmpeg();
    checkReadableFile(audioFile, "audio");
    checkWritableFolder(out, "out");
    checkAvatarFolders(options.avatarRoots!);
    const app = new LipSyncApp(resolveConfig({ ...options, logLevel: "warn" }), createLogger("warn"));
    app.registry.locate(avatarName);
    const wav = await decodeAudioFile(audioFile);
    const session = await app.sessions.open(undefined, {
      avatar: avatarName, audio: { sampleRate: wav.sampleRate, encoding: "f32le", channels: 1 }, continuous: false, encoding: "jpeg", quality, realtime: false,
    });
    const { avatar } = session;
    const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-render-"));
    const started = performance.now();
    try {
      let n = 0;
      for await (const e of playClip(session, wav.samples, wav.sampleRate, app.config.clipFeedAheadSeconds, "end")) {
        if (e.type === "error") throw e.error;
        if (e.type === "frame") writeFileSync(path.join(dir, `${String(n++).padStart(6, "0")}.jpg`), e.frame.image);
        if (e.type === "speech-ended") break;
      }
      const renderMs = performance.now() - started;
      // Written beside the target and renamed at the end: never a half-written MP4 under its name.
      const partial = path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${process.pid}.partial`);
      try {
        await run("ffmpeg", ["-y", "-nostdin", "-loglevel", "error", "-framerate", String(avatar.manifest.fps), "-i", path.join(dir, "%06d.jpg"), "-i", audioFile, "-map", "0:v:0", "-map", "1:a:0",
          "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", "-f", "mp4", partial]);
        renameSync(partial, out);
      } finally {
        rmSync(partial, { force: true });
      }
      const seconds = wav.samples.length / wav.sampleRate;
      process.stdout.write(JSON.stringify({ out, frames: n, audio_seconds: Number(seconds.toFixed(2)), render_ms: Math.round(renderMs), realtime_factor: Number((seconds * 1000 / renderMs).toFixed(2)) }) + "\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      session.close();
      await app.close();
    }
  },
};
