/** lipsync avatar import: a SyncTalk_2D / Ultralight-Digital-Human dataset folder into an avatar package. */
import path from "node:path";
import { importAvatar, type ImportSummary } from "../avatar/import/import-avatar.js";
import { createLogger } from "../logger.js";
import { choiceOption, intOption, stringOption, UsageError, type Command } from "./options.js";

/** One line, redrawn in place: "frames [########------------] 12/40". */
function progressBar(stream: NodeJS.WriteStream): (phase: string, done: number, total: number) => void {
  let last = "";
  return (phase, done, total) => {
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const line = `${phase.padEnd(22)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`;
    if (line === last) return;
    last = line;
    stream.write(`\r${line}\x1b[K${done === total ? "\n" : ""}`);
  };
}

function summary(s: ImportSummary): string {
  const lines = [
    `imported "${s.name}" into ${s.packageDir} in ${s.seconds.toFixed(1)} s`,
    `  model      ${s.family}, ${s.mode} audio; ${s.modelSize} px input cut from a ${s.cropSize} px crop; ${s.channelOrder}; batch ${s.batch ?? "dynamic"}`,
    `  footage    ${s.frames} frames of ${s.width}x${s.height} at ${s.fps} fps (${16000 / s.fps} samples per frame)`,
    `  audio      front end ${s.frontEnd}; window frames ${s.window[0]} .. +${s.window[1]}; live lookahead ${Math.round(s.lookaheadMs)} ms`,
    `  own track  ${s.ownTrack ?? "none (RenderFrame needs Speak's audio instead)"}`,
    ...s.warnings.map((w) => `  note       ${w}`),
    `serve it:   lipsync serve --avatars ${path.dirname(s.packageDir)}`,
  ];
  return lines.join("\n") + "\n";
}

export const avatarImport: Command = {
  name: "avatar import",
  summary: "turn a SyncTalk_2D / Ultralight-Digital-Human dataset folder into an avatar package",
  args: "DIR",
  options: [
    { name: "name", short: "n", value: "NAME", description: "the avatar's name: its folder under --out (required)" },
    { name: "out", short: "o", value: "ROOT", description: "avatar root to write ROOT/NAME into (required)" },
    { name: "unet", value: "FILE", default: "unet.onnx", description: "the exported UNet, relative to DIR (training/export_original.py)" },
    { name: "audio-encoder", value: "FILE", default: "audio_encoder.onnx if present", description: "the exported audio encoder; without one the avatar only renders its own track" },
    { name: "features", value: "FILE", default: "aud_ave.npy / aud_hu.npy / aud_wenet.npy", description: "precomputed features of the own track" },
    { name: "audio", value: "FILE", default: "aud.wav if present", description: "the avatar's own speech track" },
    { name: "video", value: "FILE", default: "DIR's .mp4", description: "take frames from this video when there is no full_body_img/" },
    { name: "boxes", value: "FILE", description: "crop boxes as JSON [[x, y, width, height], ...] instead of landmarks/" },
    { name: "image-input", value: "NAME", default: "input", description: "the UNet's image input" },
    { name: "audio-input", value: "NAME", default: "audio", description: "the UNet's audio input" },
    { name: "output-name", value: "NAME", default: "output", description: "the UNet's output" },
    { name: "audio-offset-samples", value: "N", description: "a waveform encoder's window start relative to the frame (else audio_encoder.json)" },
    { name: "fps", value: "N", default: "25; 20 for wenet", description: "video frames per second of the footage and the model" },
    { name: "channel-order", value: "ORDER", default: "BGR", description: "BGR (the originals, OpenCV) or RGB" },
    { name: "filter", value: "F", default: "area", description: "crop resize: area (the originals' training) or bilinear" },
    { name: "smooth", value: "N", default: "off", description: "average the crop boxes over N frames" },
    { name: "max-frames", value: "N", default: "all", description: "keep only the first N frames as the idle footage" },
    { name: "license", value: "TEXT", description: "the footage's licence, stated in the manifest" },
    { name: "force", description: "replace ROOT/NAME if it exists" },
    { name: "threads", value: "N", default: "2", description: "ONNX Runtime threads for the final check" },
  ],
  notes: `Reads full_body_img/{i}.jpg (or the .mp4), landmarks/{i}.lms, aud.wav, aud_*.npy and the models
exported to ONNX; recognises the family and audio mode from the UNet's input shapes. Crop boxes
come from landmarks 1, 31 and 52 as the originals compute them. The package is checked by loading
it as the server would, in a temporary folder, and appears under ROOT only when it loads.`,
  async run(values, positionals) {
    const dir = positionals[0];
    const name = stringOption(values, "name");
    const out = stringOption(values, "out");
    if (!dir || positionals.length > 1 || !name || !out) throw new UsageError("avatar import needs DIR, --name and --out");
    const smooth = intOption(values, "smooth", 1, 999);
    const logger = createLogger("warn");
    const s = await importAvatar({
      dir: path.resolve(dir),
      name,
      out: path.resolve(out),
      unet: stringOption(values, "unet"),
      audioEncoder: stringOption(values, "audio-encoder"),
      features: stringOption(values, "features"),
      audio: stringOption(values, "audio"),
      video: stringOption(values, "video"),
      boxes: stringOption(values, "boxes"),
      names: { image: stringOption(values, "image-input"), audio: stringOption(values, "audio-input"), output: stringOption(values, "output-name") },
      audioOffsetSamples: intOption(values, "audio-offset-samples", -480_000, 480_000),
      fps: intOption(values, "fps", 1, 100),
      channelOrder: choiceOption(values, "channel-order", ["BGR", "RGB"] as const),
      filter: choiceOption(values, "filter", ["area", "bilinear"] as const),
      smooth,
      maxFrames: intOption(values, "max-frames", 2, 1_000_000),
      license: stringOption(values, "license"),
      force: values.force === true,
      threads: intOption(values, "threads", 1, 256),
      ...(process.stderr.isTTY ? { onProgress: progressBar(process.stderr) } : {}),
    }, logger);
    process.stdout.write(summary(s));
  },
};
