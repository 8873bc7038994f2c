/**
 * A loaded avatar: its manifest, source frames, model and everything that depends only on the
 * avatar (crop inputs in the model's channel order and range, paste masks, idle JPEGs, the
 * features of its own audio track), computed once. In preload mode every frame is decoded at
 * load; in lazy mode frames and their model inputs are decoded on demand and kept under an LRU
 * bound.
 */
import type { MemoryMode } from "../config.js";
import { LipSyncError } from "../errors.js";
import { decodeImage } from "../engine/jpeg.js";
import { layWindow, SILENCE, windowLength, windowSlots } from "../audio/frontends/feature-window.js";
import type { ImageContract } from "../engine/contract.js";
import { cropToPlanar, modelInput, pasteMask, type PasteMask, type Rect, type RgbImage } from "../engine/image-ops.js";
import type { LipSyncModel } from "../engine/model.js";
import type { RenderSource } from "../engine/renderer.js";
import { PromiseLru } from "./lru.js";
import type { Manifest } from "./manifest.js";

export class Avatar implements RenderSource {
  readonly name: string;
  readonly manifest: Manifest;
  readonly model: LipSyncModel;
  readonly memory: MemoryMode;
  /** The package's own JPEG of each source frame (idle frames need no re-encoding). */
  readonly sourceJpegs: Uint8Array[];
  /** Encoder output of silence ("silence" window padding); undefined without an encoder. */
  readonly silenceFeature: Float32Array | undefined;
  /** Per-frame features of the avatar's own track (RenderFrame), if it has one. */
  ownFeatures: Float32Array[] | undefined;
  readonly loadedAt = Date.now();
  private readonly masks = new Map<string, PasteMask>();
  private readonly preloaded: { frames: RgbImage[]; inputs: Float32Array[] } | undefined;
  private readonly frameCache: PromiseLru<RgbImage>;
  private readonly inputCache: PromiseLru<Float32Array>;

  constructor(args: {
    name: string;
    manifest: Manifest;
    model: LipSyncModel;
    memory: MemoryMode;
    sourceJpegs: Uint8Array[];
    silenceFeature: Float32Array | undefined;
    preloaded?: { frames: RgbImage[]; inputs: Float32Array[] };
    cacheFrames: number;
  }) {
    this.name = args.name;
    this.manifest = args.manifest;
    this.model = args.model;
    this.memory = args.memory;
    this.sourceJpegs = args.sourceJpegs;
    this.silenceFeature = args.silenceFeature;
    this.preloaded = args.preloaded;
    this.frameCache = new PromiseLru(args.cacheFrames);
    this.inputCache = new PromiseLru(args.cacheFrames);
  }

  get frameCount(): number {
    return this.manifest.frameCount;
  }

  /** 16 kHz samples per video frame: the session clock's step (640 at 25 fps, 800 at 20). */
  get samplesPerFrame(): number {
    return this.manifest.model.samplesPerFrame;
  }

  /** The model output's geometry, channel order and range (RenderSource). */
  get output(): ImageContract {
    return this.manifest.model.image;
  }

  /** The audio window of frame `index` driven by the avatar's own track, or undefined. */
  ownWindow(index: number): Float32Array | undefined {
    const features = this.ownFeatures;
    if (!features) return undefined;
    const { window, featureDim } = this.manifest.model.audio;
    const slots = windowSlots(window, index, features.length).map((k) => (k >= 0 ? features[k] : k === SILENCE ? this.silenceFeature : undefined));
    return layWindow(slots, featureDim, new Float32Array(windowLength(window) * featureDim));
  }

  /** Throws INVALID_ARGUMENT for an index outside the footage: never wraps, never guesses. */
  checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.frameCount) {
      throw new LipSyncError("invalid_argument", `frame index ${index} is out of range 0..${this.frameCount - 1} for avatar "${this.name}"`);
    }
  }

  async frame(index: number): Promise<RgbImage> {
    this.checkIndex(index);
    if (this.preloaded) return this.preloaded.frames[index]!;
    return this.frameCache.get(index, () => decodeSource(this, index));
  }

  async input(index: number): Promise<Float32Array> {
    this.checkIndex(index);
    if (this.preloaded) return this.preloaded.inputs[index]!;
    return this.inputCache.get(index, async () => buildInput(this.manifest, index, await this.frame(index)));
  }

  rect(index: number): Rect {
    return this.manifest.cropBoxes[index]!;
  }

  mask(index: number): PasteMask {
    const rect = this.rect(index);
    const key = `${rect[2]}x${rect[3]}`;
    let mask = this.masks.get(key);
    if (!mask) {
      mask = pasteMask(rect, this.manifest.model.image);
      this.masks.set(key, mask);
    }
    return mask;
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}

async function decodeSource(avatar: Avatar, index: number): Promise<RgbImage> {
  const image = await decodeImage(avatar.sourceJpegs[index]!);
  if (image.width !== avatar.manifest.width || image.height !== avatar.manifest.height) {
    throw new LipSyncError("failed_precondition",
      `avatar "${avatar.name}": frame ${index} is ${image.width}x${image.height}, manifest fields "width"/"height" say ${avatar.manifest.width}x${avatar.manifest.height}`);
  }
  return image;
}

/** The cached 6-channel model input of a source frame: crop, masked crop, in the model's format. */
export function buildInput(manifest: Manifest, index: number, frame: RgbImage): Float32Array {
  const image = manifest.model.image;
  return modelInput(cropToPlanar(frame, manifest.cropBoxes[index]!, image), image);
}

export { decodeSource };
