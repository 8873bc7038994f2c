/**
 * Rendering on request, outside a session: frames driven by the avatar's own audio track
 * (RenderFrame, RenderFrames, StreamRender, the seed's inference messages), one frame lipped to a
 * short clip (the seed's audio_override), and source frames as they are (GetSourceFrame).
 */
import { SourceView } from "@lipsync/proto";
import { SAMPLE_RATE } from "../audio/constants.js";
import { audioWindow } from "../audio/frontends/feature-window.js";
import { trackInputs } from "../audio/frontends/inputs.js";
import type { Principal } from "../auth.js";
import type { ServerConfig } from "../config.js";
import { checkQuality, type Frame, type ImageEncoding } from "../engine/frame.js";
import { inputHalfToRgb, type Rect, type RgbImage } from "../engine/image-ops.js";
import { encodeImage } from "../engine/compose.js";
import { renderFrame } from "../engine/renderer.js";
import { LipSyncError, invalidArgument } from "../errors.js";
import type { Stats } from "../metrics.js";
import type { Catalogue } from "./catalogue.js";

export interface SourceImage {
  image: Uint8Array;
  width: number;
  height: number;
  cropRect: Rect;
}

export class OneShot {
  constructor(private readonly catalogue: Catalogue, private readonly config: ServerConfig, private readonly stats: Stats) {}

  /**
   * Frames driven by the avatar's own audio track, rendered concurrently (they batch). When
   * `signal` aborts (the caller went away) frames not yet in a running batch are never rendered.
   */
  async renderOwn(principal: Principal | undefined, name: string, indices: number[], encoding: ImageEncoding, quality = this.config.jpegQuality, signal?: AbortSignal): Promise<Frame[]> {
    if (indices.length > this.config.maxFramesPerCall) {
      throw new LipSyncError("resource_exhausted", `at most ${this.config.maxFramesPerCall} frames per call, got ${indices.length}`);
    }
    const avatar = await this.catalogue.get(principal, name);
    for (const i of indices) avatar.checkIndex(i);
    if (!avatar.ownFeatures) throw new LipSyncError("failed_precondition", `avatar "${name}" has no audio track of its own; use Speak`);
    const q = checkQuality(quality);
    const frames = await Promise.all(indices.map((i) => renderFrame(avatar, {
      index: i, pts: i * avatar.samplesPerFrame, audio: avatar.ownWindow(i)!, encoding, quality: q, schedule: signal ? { signal } : {},
    })));
    for (const f of frames) this.stats.rendered(f.timings!);
    return frames;
  }

  /**
   * One frame lipped to a short clip of 16 kHz audio (the seed's audio_override): the clip is
   * taken as speech around the frame, and the frame at its middle is rendered.
   */
  async renderWithAudio(principal: Principal | undefined, name: string, index: number, samples: Float32Array, encoding: ImageEncoding, quality = this.config.jpegQuality, signal?: AbortSignal): Promise<Frame> {
    const avatar = await this.catalogue.get(principal, name);
    avatar.checkIndex(index);
    const spf = avatar.samplesPerFrame;
    if (samples.length < spf) throw invalidArgument(`audio override must hold at least ${spf} samples (one frame at ${SAMPLE_RATE} Hz)`);
    const { frontEnd } = avatar.manifest.model.audio;
    if (frontEnd.kind === "none") throw new LipSyncError("failed_precondition", `avatar "${name}" has no live audio front end (precomputed features only)`);
    const count = Math.ceil(samples.length / spf);
    const inputs = trackInputs(frontEnd, spf, samples, count);
    const audio = await audioWindow(avatar.windowSource, Math.floor(count / 2), count, async (k) => (await avatar.model.encode(inputs[k]!, signal ? { signal } : {})).value);
    const frame = await renderFrame(avatar, { index, pts: index * spf, audio, encoding, quality: checkQuality(quality), schedule: signal ? { signal } : {} });
    this.stats.rendered(frame.timings!);
    return frame;
  }

  /** A source frame: whole (the package's JPEG as it is), or the model crop, plain or masked (from the cached model input). */
  async sourceFrame(principal: Principal | undefined, name: string, index: number, view: SourceView, encoding: ImageEncoding, quality = this.config.jpegQuality): Promise<SourceImage> {
    const avatar = await this.catalogue.get(principal, name);
    avatar.checkIndex(index);
    const cropRect = avatar.rect(index);
    const whole = view === SourceView.FULL || view === SourceView.UNSPECIFIED;
    if (whole && encoding === "jpeg") return { image: avatar.sourceJpegs[index]!, width: avatar.manifest.width, height: avatar.manifest.height, cropRect };
    let picture: RgbImage;
    if (whole) {
      picture = await avatar.frame(index);
    } else {
      const { size, channelOrder } = avatar.manifest.model.image;
      picture = { data: inputHalfToRgb(await avatar.inputBytes(index), size, view === SourceView.CROP ? 0 : 1, channelOrder), width: size, height: size };
    }
    const image = await encodeImage(picture, encoding, checkQuality(quality));
    return { image, width: picture.width, height: picture.height, cropRect };
  }
}
