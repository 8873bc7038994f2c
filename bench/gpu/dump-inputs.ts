/**
 * Real UNet inputs of an avatar, as the server builds them, for checking a model variant's output
 * against the float32 model's where only node and onnxruntime-node run (bench/gpu/models.mjs on
 * the GPU machine). Per avatar: the cached 6-channel input bytes of N frames spread over its
 * footage and their audio windows from the avatar's own track (its encoder in float32, or its
 * precomputed features), exactly what RenderFrame feeds the model.
 *
 *   node --import tsx bench/gpu/dump-inputs.ts --root DIR --avatar NAME --out DIR [--items 16]
 *
 * Writes OUT/meta.json (tensor names, per-item dims, value range, frames), OUT/image.u8
 * ([items, ...image dims] bytes) and OUT/audio.f32 ([items, ...audio dims], little-endian).
 * The package is read through a copy of its manifest without model.cpu_variant, so the
 * features come from the float32 encoder whatever the package serves on the CPU.
 */
import { silentAudioWindow } from "../../packages/server/src/audio/frontends/feature-window.js";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { AvatarRegistry } from "../../packages/server/src/avatar/registry.js";
import { resolveConfig } from "../../packages/server/src/config.js";
import { silentLogger } from "../../packages/server/src/logger.js";

const { values } = parseArgs({ options: { root: { type: "string" }, avatar: { type: "string" }, out: { type: "string" }, items: { type: "string", default: "16" } } });
if (!values.root || !values.avatar || !values.out) throw new Error("usage: dump-inputs.ts --root DIR --avatar NAME --out DIR [--items N]");

const source = path.join(values.root, values.avatar);
const scratch = mkdtempSync(path.join(os.tmpdir(), "lipsync-dump-"));
const pkg = path.join(scratch, values.avatar);
mkdirSync(pkg);
for (const f of readdirSync(source)) if (f !== "manifest.json") symlinkSync(path.join(path.resolve(source), f), path.join(pkg, f));
const manifest = JSON.parse(readFileSync(path.join(source, "manifest.json"), "utf8"));
delete manifest.model.cpu_variant;
writeFileSync(path.join(pkg, "manifest.json"), JSON.stringify(manifest));

const registry = new AvatarRegistry(resolveConfig({ avatarRoots: [scratch], inferenceThreads: 2, memory: "lazy" }), silentLogger());
try {
  const avatar = await registry.get(values.avatar);
  const { unet } = avatar.manifest.model;
  const n = Math.min(Number(values.items), avatar.frameCount);
  const frames = Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * avatar.frameCount) / n));
  const imageLen = unet.image.dims.reduce((a, b) => a * b, 1);
  const audioLen = unet.audio.dims.reduce((a, b) => a * b, 1);
  const image = new Uint8Array(n * imageLen);
  const audio = new Float32Array(n * audioLen);
  for (const [i, f] of frames.entries()) {
    image.set(await avatar.inputBytes(f), i * imageLen);
    const window = avatar.ownWindow(f) ?? silentAudioWindow(avatar.windowSource);
    audio.set(window, i * audioLen);
  }
  mkdirSync(values.out, { recursive: true });
  writeFileSync(path.join(values.out, "image.u8"), image);
  writeFileSync(path.join(values.out, "audio.f32"), new Uint8Array(audio.buffer));
  writeFileSync(path.join(values.out, "meta.json"), JSON.stringify({
    avatar: values.avatar, items: n, frames, own_audio: avatar.ownFeatures !== undefined,
    image: { name: unet.image.name, dims: unet.image.dims, value_range: avatar.manifest.model.image.valueRange },
    audio: { name: unet.audio.name, dims: unet.audio.dims }, output: { name: unet.output.name, dims: unet.output.dims },
  }, null, 1));
  console.log(JSON.stringify({ what: "unet inputs", avatar: values.avatar, items: n, bytes: image.length + audio.byteLength, own_audio: avatar.ownFeatures !== undefined }));
} finally {
  await registry.closeAll();
  rmSync(scratch, { recursive: true, force: true });
}
