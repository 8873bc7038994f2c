/**
 * An avatar package whose UNet is the zero-cost stand-in (standin.ts) of its own: the same
 * manifest, frames, audio encoder and own features, the UNet file replaced, no CPU variant.
 *
 *   node --import tsx bench/pipeline/build.ts --avatars DIR --avatar NAME --out ROOT
 *
 * writes ROOT/NAME-standin (files other than the UNet hard-linked, or copied across devices).
 */
import { copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseManifest } from "../../packages/server/src/avatar/manifest.js";
import { buildStandIn, type TensorMeta } from "./standin.js";

const STANDIN_FILE = "unet.standin.onnx";

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
  const session = await ort.InferenceSession.create(file);
  try {
    return buildStandIn({ ...names, inputs: session.inputMetadata, outputs: session.outputMetadata });
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
export async function standInPackage(dir: string, name: string, outRoot: string): Promise<string> {
  const raw = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
  const { model } = parseManifest(raw, name);
  const bytes = await standInFor(path.join(dir, model.unet.file), { image: model.unet.image.name, audio: model.unet.audio.name, output: model.unet.output.name });
  const out = path.join(outRoot, `${name}-standin`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(dir)) {
    if (f === "manifest.json" || f === model.unet.file || (raw.model.cpu_variant && f === raw.model.cpu_variant.unet)) continue;
    linkOrCopy(path.join(dir, f), path.join(out, f));
  }
  writeFileSync(path.join(out, STANDIN_FILE), bytes);
  delete raw.model.cpu_variant;
  if (typeof raw.model.unet === "string") raw.model.unet = STANDIN_FILE;
  else raw.model.unet.file = STANDIN_FILE;
  raw.name = `${name}-standin`;
  raw.model.gmac_per_frame = 0;
  writeFileSync(path.join(out, "manifest.json"), JSON.stringify(raw, null, 1));
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { avatars: { type: "string", default: "models" }, avatar: { type: "string", default: "demo" }, out: { type: "string", default: "bench/out/avatars" } } });
  const out = await standInPackage(path.join(values.avatars!, values.avatar!), values.avatar!, values.out!);
  console.log(JSON.stringify({ what: "zero-cost stand-in package", avatar: `${values.avatar}-standin`, folder: out }));
}
