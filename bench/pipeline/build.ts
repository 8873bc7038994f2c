/**
 * An avatar package whose UNet and audio encoder are the zero-cost stand-ins (standin.ts) of its
 * own: the same manifest, frames and own features, the model files replaced, no CPU variant.
 * With --keep-encoder the avatar's own audio encoder stays (its cost on this machine's CPU is
 * then in the figures: on a GPU it runs on the device).
 *
 *   node --import tsx bench/pipeline/build.ts --avatars DIR --avatar NAME --out ROOT [--keep-encoder]
 *
 * writes ROOT/NAME-standin (files other than the UNet hard-linked, or copied across devices).
 */
import { copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseManifest } from "../../packages/server/src/avatar/manifest.js";
import { buildEncoderStandIn, buildStandIn, type TensorMeta } from "./standin.js";

const STANDIN_FILE = "unet.standin.onnx";
const ENCODER_STANDIN_FILE = "audio_encoder.standin.onnx";

interface OrtSession {
  inputMetadata: readonly TensorMeta[];
  outputMetadata: readonly TensorMeta[];
  release(): Promise<void>;
}
const ort = createRequire(path.resolve(import.meta.dirname, "../../packages/server/package.json"))("onnxruntime-node") as {
  InferenceSession: { create(file: string): Promise<OrtSession> };
};

/** The stand-in of the UNet at `file` for the contract's names; throws StandInError naming what it cannot mirror. */
export async function standInFor(file: string, names: { image: string; audio: string; output: string }): Promise<Uint8Array> {
  return withMetadata(file, (meta) => buildStandIn({ ...names, ...meta }));
}

/** The stand-in of the audio encoder at `file`. */
export async function encoderStandInFor(file: string, names: { input: string; output: string }): Promise<Uint8Array> {
  return withMetadata(file, (meta) => buildEncoderStandIn({ ...names, ...meta }));
}

async function withMetadata(file: string, build: (meta: { inputs: readonly TensorMeta[]; outputs: readonly TensorMeta[] }) => Uint8Array): Promise<Uint8Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    return build({ inputs: session.inputMetadata, outputs: session.outputMetadata });
  } finally {
    await session.release();
  }
}

function linkOrCopy(from: string, to: string): void {
  if (statSync(from).isDirectory()) {
    mkdirSync(to);
    for (const f of readdirSync(from)) linkOrCopy(path.join(from, f), path.join(to, f));
    return;
  }
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** Writes `outRoot/<name>-standin` from the package `dir`; returns its folder. */
export async function standInPackage(dir: string, name: string, outRoot: string, opts: { keepEncoder?: boolean } = {}): Promise<string> {
  const raw = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
  const { model } = parseManifest(raw, name);
  const bytes = await standInFor(path.join(dir, model.unet.file), { image: model.unet.image.name, audio: model.unet.audio.name, output: model.unet.output.name });
  const encoder = model.encoder && !opts.keepEncoder
    ? await encoderStandInFor(path.join(dir, model.encoder.file), { input: model.encoder.input.name, output: model.encoder.output.name })
    : undefined;
  const out = path.join(outRoot, `${name}-standin`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const replaced = new Set([model.unet.file, raw.model.cpu_variant?.unet, encoder && model.encoder!.file, encoder && raw.model.cpu_variant?.audio_encoder]);
  for (const f of readdirSync(dir)) {
    if (f === "manifest.json" || replaced.has(f)) continue;
    linkOrCopy(path.join(dir, f), path.join(out, f));
  }
  writeFileSync(path.join(out, STANDIN_FILE), bytes);
  delete raw.model.cpu_variant;
  if (typeof raw.model.unet === "string") raw.model.unet = STANDIN_FILE;
  else raw.model.unet.file = STANDIN_FILE;
  if (encoder) {
    writeFileSync(path.join(out, ENCODER_STANDIN_FILE), encoder);
    // The manifest field that names the file: model.audio_encoder (v1) or model.audio.frontend.encoder.file (v2).
    const keys = model.encoder!.fileField.split(".");
    const parent = keys.slice(0, -1).reduce((o, k) => o[k], raw);
    parent[keys.at(-1)!] = ENCODER_STANDIN_FILE;
  }
  raw.name = `${name}-standin`;
  raw.model.gmac_per_frame = 0;
  writeFileSync(path.join(out, "manifest.json"), JSON.stringify(raw, null, 1));
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: {
    avatars: { type: "string", default: "models" }, avatar: { type: "string", default: "demo" }, out: { type: "string", default: "bench/out/avatars" },
    "keep-encoder": { type: "boolean", default: false },
  } });
  const out = await standInPackage(path.join(values.avatars!, values.avatar!), values.avatar!, values.out!, { keepEncoder: values["keep-encoder"] });
  console.log(JSON.stringify({ what: "zero-cost stand-in package", avatar: `${values.avatar}-standin`, folder: out }));
}
