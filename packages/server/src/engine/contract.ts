/**
 * The model contract: everything the server must know to feed a lip-sync model and use what it
 * gives back. Manifests of format version 1 and 2 both become this one form (avatar/manifest.ts),
 * so nothing past the loader knows which version a package was written in.
 *
 * Pre- and post-processing happen outside the model run: channel order, value range and the
 * mask are applied once when an avatar's 6-channel inputs are built, and undone when the output
 * is pasted back; the audio window is a flat per-item array whatever the model's audio dims.
 */
import type { FrontEndSpec, WindowSpec } from "../audio/frontends/types.js";

/** x0, y0, x1, y1 (exclusive) in model-input pixels. */
export type Box = readonly [number, number, number, number];

export type ChannelOrder = "RGB" | "BGR";
/** How a frame's crop is resized to the crop size: "area" is OpenCV's INTER_AREA when shrinking. */
export type ResizeFilter = "bilinear" | "area";

/** One input or output of an ONNX model: its name and per-item dims (the batch axis left out). */
export interface TensorSpec {
  name: string;
  dims: number[];
  /** The manifest fields that state the name and the dims, for error messages. */
  nameField: string;
  field: string;
}

export interface ImageContract {
  /** Side of the square model input and output (the 6-channel input is [6, size, size]). */
  size: number;
  channelOrder: ChannelOrder;
  /** Model pixel values of black and white: [0, 1] or [-1, 1]; the output uses the same range. */
  valueRange: readonly [number, number];
  /** The crop box of a frame is resized to cropSize x cropSize; the model sees its centre. */
  cropSize: number;
  /** Pixels of the resized crop around the model input: cropSize = size + 2 * border. */
  border: number;
  filter: ResizeFilter;
  /** Blanked (black) in the masked half of the input. */
  mask: Box;
  /** Taken from the output and pasted into the frame; everything else stays the source's. */
  paste: Box;
  /** Width of the paste region's blend ramp, model pixels. */
  feather: number;
}

export interface AudioContract {
  /** Length of one frame's feature (the encoder's output, or a row of the precomputed features). */
  featureDim: number;
  window: WindowSpec;
  /** The live front end (Speak); "none" when the package has only precomputed features. */
  frontEnd: FrontEndSpec;
  /** Precomputed per-frame features of the avatar's own track (.npy, relative to the package). */
  ownFeatures: string | undefined;
}

/** What the engine runs: the two ONNX files, their tensors' names and per-item dims. */
export interface EngineContract {
  unet: { file: string; image: TensorSpec; audio: TensorSpec; output: TensorSpec; fileField: string };
  /** The audio encoder of the live front end; undefined for front end "none". */
  encoder: { file: string; input: TensorSpec; output: TensorSpec; fileField: string } | undefined;
}

export interface ModelContract extends EngineContract {
  /** Manifest format version it was read from (only for information). */
  formatVersion: number;
  image: ImageContract;
  audio: AudioContract;
  /** Video frames per second and 16 kHz samples per frame (exact: 640 at 25 fps, 800 at 20). */
  fps: number;
  samplesPerFrame: number;
  /** Frames a live frame waits for future audio beyond its own (the first-frame latency floor). */
  lookaheadFrames: number;
  gmacPerFrame: number;
}
