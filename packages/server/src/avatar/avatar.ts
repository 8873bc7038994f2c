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
import { trackWindow, type WindowSource } from "../audio/frontends/feature-window.js";
import type { ImageContract } from "../engine/contract.js";
import { cropToPlanar, modelInputBytes, pasteMask, type PasteMask, type Rect, type RgbImage } from "../engine/image-ops.js";
import type { ImageInput, LipSyncModel } from "../engine/model.js";
import { LocalComposer, type Composer, type FrameRef, type FrameStore } from "../engine/compose.js";
import type { ImageEncoding } from "../engine/frame.js";
import { rgbToI420, rgbToRgba } from "../engine/pixels.js";
import type { RenderSource } from "../engine/renderer.js";
import { BoundedMap, PromiseLru } from "./lru.js";
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
  /** What the avatar holds that grows with its package (frames, inputs, features), bytes: counted against the avatar memory budget. */
  memoryBytes = 0;
  private readonly masks = new Map<string, PasteMask>();
  /** Raw idle frames by encoding and index; in lazy mode bounded like the frame cache. */
  private readonly idleImages: Map<string, Uint8Array>;
  private readonly preloaded: { frames: FrameStore; inputs: InputStore } | undefined;
  readonly composer: Composer;
  private readonly frameCache: PromiseLru<RgbImage>;
  private readonly inputCache: PromiseLru<Uint8Array>;

  constructor(args: {
    name: string;
    manifest: Manifest;
    model: LipSyncModel;
    memory: MemoryMode;
    sourceJpegs: Uint8Array[];
    silenceFeature: Float32Array | undefined;
    preloaded?: { frames: FrameStore; inputs: InputStore };
    cacheFrames: number;
    composer?: Composer;
  }) {
    this.composer = args.composer ?? new LocalComposer();
    this.name = args.name;
    this.manifest = args.manifest;
    this.model = args.model;
    this.memory = args.memory;
    this.sourceJpegs = args.sourceJpegs;
    this.silenceFeature = args.silenceFeature;
    this.preloaded = args.preloaded;
    this.frameCache = new PromiseLru(args.cacheFrames);
    this.idleImages = args.preloaded ? new Map() : new BoundedMap(args.cacheFrames);
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

  /** What its audio windows are laid from (features.ts, feature-window.ts). */
  get windowSource(): WindowSource {
    return { audio: this.manifest.model.audio, silence: this.silenceFeature };
  }

  /** The audio window of frame `index` driven by the avatar's own track, or undefined. */
  ownWindow(index: number): Float32Array | undefined {
    return this.ownFeatures && trackWindow(this.windowSource, index, this.ownFeatures);
  }

  /**
   * Source frame `index` as an idle frame in `encoding`: the package's own JPEG, or raw pixels
   * (converted once per frame and kept: idle frames repeat), synchronously when they are at hand.
   */
  idleImage(index: number, encoding: ImageEncoding): Uint8Array | Promise<Uint8Array> {
    if (encoding === "jpeg") return this.sourceJpegs[index]!;
    const key = `${encoding}:${index}`;
    const have = this.idleImages.get(key);
    if (have) return have;
    const convert = (f: RgbImage) => {
      const image = encoding === "rgb" ? f.data : encoding === "rgba" ? rgbToRgba(f.data, f.width, f.height) : rgbToI420(f.data, f.width, f.height);
      this.idleImages.set(key, image);
      return image;
    };
    return this.preloaded ? convert(this.preloaded.frames.frame(index)) : this.frame(index).then(convert);
  }

  /** Throws INVALID_ARGUMENT for an index outside the footage: never wraps, never guesses. */
  checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.frameCount) {
      throw new LipSyncError("invalid_argument", `frame index ${index} is out of range 0..${this.frameCount - 1} for avatar "${this.name}"`);
    }
  }

  async frame(index: number): Promise<RgbImage> {
    this.checkIndex(index);
    if (this.preloaded) return this.preloaded.frames.frame(index);
    return this.frameCache.get(index, () => decodeSource(this, index));
  }

  /** Preload: the frame's place in the shared frame store. Lazy: the decoded frame. */
  async frameRef(index: number): Promise<FrameRef> {
    this.checkIndex(index);
    if (this.preloaded) return { store: this.preloaded.frames, index };
    return { image: await this.frame(index) };
  }

  /** Preload: the frame's slot of the store the inference worker shares. Lazy: its bytes. */
  async input(index: number): Promise<ImageInput> {
    this.checkIndex(index);
    if (this.preloaded) return { slot: index };
    return { bytes: await this.inputCache.get(index, async () => buildInput(this.manifest, index, await this.frame(index))) };
  }

  /** The cached input bytes of a frame (image-ops' modelInputBytes). */
  async inputBytes(index: number): Promise<Uint8Array> {
    const input = await this.input(index);
    return "slot" in input ? this.preloaded!.inputs.get(index) : input.bytes;
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
    if (this.preloaded && "unregister" in this.composer) (this.composer as { unregister(s: FrameStore): void }).unregister(this.preloaded.frames);
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

/** The cached 6-channel model input of a source frame: crop, masked crop, in the model's channel order, as bytes. */
export function buildInput(manifest: Manifest, index: number, frame: RgbImage, out?: Uint8Array): Uint8Array {
  const image = manifest.model.image;
  return modelInputBytes(cropToPlanar(frame, manifest.cropBoxes[index]!, image), image, out);
}

/**
 * Every frame's cached input in one SharedArrayBuffer, slot i for frame i: the inference worker
 * reads a batch's rows from it directly, so no input is copied on the main thread.
 */
export class InputStore {
  readonly buffer: SharedArrayBuffer;
  readonly itemBytes: number;
  private readonly bytes: Uint8Array;

  constructor(frames: number, itemBytes: number) {
    this.buffer = new SharedArrayBuffer(frames * itemBytes);
    this.itemBytes = itemBytes;
    this.bytes = new Uint8Array(this.buffer);
  }

  get(slot: number): Uint8Array {
    return this.bytes.subarray(slot * this.itemBytes, (slot + 1) * this.itemBytes);
  }
}

export { decodeSource };
