/**
 * A loaded avatar: its manifest, source frames, model and everything that depends only on the
 * avatar (crop inputs, paste masks, idle JPEGs, the features of its own audio track), computed
 * once. In preload mode every frame is decoded at load; in lazy mode frames and their model
 * inputs are decoded on demand and kept under an LRU bound.
 */
import type { MemoryMode } from "../config.js";
import { LipSyncError } from "../errors.js";
import { decodeImage } from "../engine/jpeg.js";
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
  /** Encoder output of a silent window: the audio history before any speech. */
  readonly silenceFeature: Float32Array;
  /** Audio context of each frame from the avatar's own track (RenderFrame), if it has one. */
  ownAudio: Float32Array[] | undefined;
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
    silenceFeature: Float32Array;
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
      mask = pasteMask(rect, this.manifest.model.inputSize, this.manifest.mouthBox, this.manifest.feather);
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

export function buildInput(manifest: Manifest, index: number, frame: RgbImage): Float32Array {
  const size = manifest.model.inputSize;
  return modelInput(cropToPlanar(frame, manifest.cropBoxes[index]!, size), size, manifest.mouthBox);
}

export { decodeSource };
