/**
 * The zero-cost stand-ins of an avatar's UNet and audio encoder, for measuring the pipeline around the model: an
 * ONNX file with the model's own input and output names, element types and declared shapes
 * (symbolic axes and a fixed batch kept as the file states them), whose output is the reference
 * channels of the image input (channels 0-2, already in the model's channel order and value
 * range, so the server pastes back the source crop). The audio input is declared and fed but
 * read by no node. One Slice: next to nothing per frame on any provider.
 *
 * The encoder's stand-in (buildEncoderStandIn) returns the first values of its input as the
 * feature: a Reshape to [batch, -1], a Slice and a Reshape to the declared feature shape. On a
 * GPU both models run on the device; what is left on the CPU is what this benchmark measures.
 *
 * A model it cannot mirror is refused, naming the input or output: an input the contract does
 * not feed, a tensor that is not float32, an image input whose first axis past the batch is not
 * 6 channels, an output that is not [batch, 3, H, W] of the image's sides.
 */
import { encodeModel, type Dim, type ValueInfo } from "./onnx-writer.js";

/** A tensor as onnxruntime's session metadata gives it (inputMetadata / outputMetadata). */
export interface TensorMeta {
  name: string;
  isTensor: boolean;
  /** onnxruntime's element type name: "float32", "float16", "int64", ... */
  type: string;
  /** Declared dims: numbers, or strings for symbolic axes (empty for no shape). */
  shape: readonly (number | string)[];
}

export interface StandInSpec {
  /** The contract's names (manifest model.unet inputs and output). */
  image: string;
  audio: string;
  output: string;
  inputs: readonly TensorMeta[];
  outputs: readonly TensorMeta[];
}

export class StandInError extends Error {}

const FLOAT = 1; // TensorProto.FLOAT

function valueInfo(t: TensorMeta): ValueInfo {
  return { name: t.name, elemType: FLOAT, dims: t.shape.map((d): Dim => (typeof d === "number" && d > 0 ? d : String(d))) };
}

function check(t: TensorMeta | undefined, role: string, name: string): TensorMeta {
  if (!t) throw new StandInError(`cannot mirror the model: it has no ${role} "${name}"`);
  if (!t.isTensor || t.type !== "float32") throw new StandInError(`cannot mirror ${role} "${t.name}": it is ${t.isTensor ? t.type : "not a tensor"}, the stand-in mirrors float32 tensors only`);
  return t;
}

/** The stand-in's ONNX bytes for a model with these tensors. */
export function buildStandIn(spec: StandInSpec): Uint8Array {
  for (const t of spec.inputs) {
    if (t.name !== spec.image && t.name !== spec.audio) {
      throw new StandInError(`cannot mirror input "${t.name}": the server feeds only "${spec.image}" (image) and "${spec.audio}" (audio)`);
    }
  }
  for (const t of spec.outputs) {
    if (t.name !== spec.output) throw new StandInError(`cannot mirror output "${t.name}": the server reads only "${spec.output}"`);
  }
  const image = check(spec.inputs.find((t) => t.name === spec.image), "input", spec.image);
  const audio = check(spec.inputs.find((t) => t.name === spec.audio), "input", spec.audio);
  const output = check(spec.outputs.find((t) => t.name === spec.output), "output", spec.output);
  if (image.shape.length !== 4 || image.shape[1] !== 6) {
    throw new StandInError(`cannot mirror input "${image.name}": it is [${image.shape.join(", ")}], not [batch, 6, H, W] (reference and masked crops)`);
  }
  const sameSides = (a: number | string | undefined, b: number | string | undefined) => typeof a !== "number" || typeof b !== "number" || a === b;
  if (output.shape.length !== 4 || output.shape[1] !== 3 || !sameSides(output.shape[2], image.shape[2]) || !sameSides(output.shape[3], image.shape[3])) {
    throw new StandInError(`cannot mirror output "${output.name}": it is [${output.shape.join(", ")}], not [batch, 3, H, W] of input "${image.name}"`);
  }
  return encodeModel({
    opset: 13,
    producer: "lipsync bench/pipeline stand-in",
    inputs: [valueInfo(image), valueInfo(audio)],
    outputs: [valueInfo(output)],
    // Slice(image, starts [0], ends [3], axes [1]): the reference crop, as the output.
    initializers: [
      { name: "standin_starts", int64: [0n] },
      { name: "standin_ends", int64: [3n] },
      { name: "standin_axes", int64: [1n] },
    ],
    nodes: [{ op: "Slice", inputs: [image.name, "standin_starts", "standin_ends", "standin_axes"], outputs: [output.name], name: "reference_channels" }],
  });
}

export interface EncoderStandInSpec {
  /** The contract's names (manifest model inputs.mel and outputs.feature). */
  input: string;
  output: string;
  inputs: readonly TensorMeta[];
  outputs: readonly TensorMeta[];
}

/** The encoder stand-in's ONNX bytes: [batch, ...input] -> the first values, as [batch, ...feature]. */
export function buildEncoderStandIn(spec: EncoderStandInSpec): Uint8Array {
  for (const t of spec.inputs) if (t.name !== spec.input) throw new StandInError(`cannot mirror encoder input "${t.name}": the server feeds only "${spec.input}"`);
  for (const t of spec.outputs) if (t.name !== spec.output) throw new StandInError(`cannot mirror encoder output "${t.name}": the server reads only "${spec.output}"`);
  const input = check(spec.inputs.find((t) => t.name === spec.input), "encoder input", spec.input);
  const output = check(spec.outputs.find((t) => t.name === spec.output), "encoder output", spec.output);
  const fixed = (dims: readonly (number | string)[]) => dims.slice(1).every((d) => typeof d === "number" && d > 0);
  if (input.shape.length < 2 || !fixed(input.shape)) {
    throw new StandInError(`cannot mirror encoder input "${input.name}": it is [${input.shape.join(", ")}], not [batch, ...] of fixed sizes`);
  }
  if (output.shape.length < 2 || !fixed(output.shape)) {
    throw new StandInError(`cannot mirror encoder output "${output.name}": it is [${output.shape.join(", ")}], not [batch, ...] of fixed sizes`);
  }
  const size = (dims: readonly (number | string)[]) => dims.slice(1).reduce<number>((a, b) => a * Number(b), 1);
  if (size(output.shape) > size(input.shape)) {
    throw new StandInError(`cannot mirror encoder output "${output.name}": its ${size(output.shape)} values per item are more than input "${input.name}" holds (${size(input.shape)})`);
  }
  return encodeModel({
    opset: 13,
    producer: "lipsync bench/pipeline stand-in",
    inputs: [valueInfo(input)],
    outputs: [valueInfo(output)],
    // Reshape's 0 keeps the batch axis as it is: a fixed or a dynamic batch alike.
    initializers: [
      { name: "standin_flat", int64: [0n, -1n] },
      { name: "standin_starts", int64: [0n] },
      { name: "standin_ends", int64: [BigInt(size(output.shape))] },
      { name: "standin_axes", int64: [1n] },
      { name: "standin_shape", int64: [0n, ...output.shape.slice(1).map((d) => BigInt(d))] },
    ],
    nodes: [
      { op: "Reshape", inputs: [input.name, "standin_flat"], outputs: ["standin_rows"], name: "flatten" },
      { op: "Slice", inputs: ["standin_rows", "standin_starts", "standin_ends", "standin_axes"], outputs: ["standin_first"], name: "first_values" },
      { op: "Reshape", inputs: ["standin_first", "standin_shape"], outputs: [output.name], name: "feature_shape" },
    ],
  });
}
