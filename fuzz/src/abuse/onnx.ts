/**
 * A stand-in UNet written as ONNX by hand (protobuf wire format, field numbers from onnx.proto):
 * the demo's inputs and output (image [N, 6, S, S], audio [N, C, D] -> output [N, 3, S, S]),
 * the output a Reshape of the image's first three channels to [-1, 3, S, S + sign(max |audio|)].
 * With all-zero audio (the server's dry run at load) that is the right shape; with any real audio
 * window ONNX Runtime's Reshape fails, as a model with a bad export does: the abuse case of an
 * internal error that must not reach a client as ONNX Runtime's own text.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const bytes = (s: string) => [...Buffer.from(s, "utf8")];
/** A length-delimited field. */
const field = (num: number, body: number[] | string) => {
  const b = typeof body === "string" ? bytes(body) : body;
  return [...varint((num << 3) | 2), ...varint(b.length), ...b];
};
/** A varint field. */
const int = (num: number, value: number) => [...varint(num << 3), ...varint(value)];

const FLOAT = 1;
const INT64 = 7;

/** ValueInfoProto of a float tensor; a string dim is symbolic (dim_param). */
function tensorInfo(name: string, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => field(1, typeof d === "string" ? field(2, d) : int(1, d)));
  return [...field(1, name), ...field(2, field(1, [...int(1, FLOAT), ...field(2, shape)]))];
}

/** An int64 initializer (TensorProto: dims, data_type, int64_data packed, name). */
function int64Tensor(name: string, values: number[]): number[] {
  return [...int(1, values.length), ...int(2, INT64), ...field(7, values.flatMap((v) => varint(v))), ...field(8, name)];
}

/** NodeProto; `ints`: integer attributes (AttributeProto name, i, type INT). */
function node(op: string, inputs: string[], outputs: string[], ints: Record<string, number> = {}): number[] {
  const attributes = Object.entries(ints).flatMap(([name, i]) => field(5, [...field(1, name), ...int(3, i), ...int(20, 2)]));
  return [...inputs.flatMap((i) => field(1, i)), ...outputs.flatMap((o) => field(2, o)), ...field(4, op), ...attributes];
}

/** The model's bytes for a crop of `size` pixels and an audio input of [context, featureDim] per frame. */
export function failsOnAudioUnet(size: number, context: number, featureDim: number): Uint8Array {
  const graph = [
    ...field(1, node("Slice", ["image", "starts", "ends", "axes"], ["rgb"])),
    ...field(1, node("Abs", ["audio"], ["magnitude"])),
    ...field(1, node("ReduceMax", ["magnitude"], ["loudest"], { keepdims: 0 })),
    ...field(1, node("Sign", ["loudest"], ["heard"])),
    ...field(1, node("Cast", ["heard"], ["extra"], { to: INT64 })),
    ...field(1, node("Mul", ["extra", "last_axis"], ["grow"])),
    ...field(1, node("Add", ["shape", "grow"], ["target"])),
    ...field(1, node("Reshape", ["rgb", "target"], ["output"])),
    ...field(2, "fails_on_audio"),
    ...field(5, int64Tensor("starts", [0])),
    ...field(5, int64Tensor("ends", [3])),
    ...field(5, int64Tensor("axes", [1])),
    ...field(5, int64Tensor("shape", [-1, 3, size, size])),
    ...field(5, int64Tensor("last_axis", [0, 0, 0, 1])),
    ...field(11, tensorInfo("image", ["N", 6, size, size])),
    ...field(11, tensorInfo("audio", ["N", context, featureDim])),
    ...field(12, tensorInfo("output", ["N", 3, size, size])),
  ];
  const opset = [...field(1, ""), ...int(2, 13)];
  return Uint8Array.from([...int(1, 8), ...field(8, opset), ...field(7, graph)]);
}
