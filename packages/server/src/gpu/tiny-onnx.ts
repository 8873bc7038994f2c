/**
 * A one-node ONNX model (y = Relu(x), x: float[1, 4]) written out by hand, so that `lipsync
 * doctor` can probe an execution provider without any model file on disk. Protobuf wire format:
 * field numbers from onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field. */
function field(num: number, body: number[] | string): number[] {
  const bytes = typeof body === "string" ? [...Buffer.from(body, "utf8")] : body;
  return [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
}

/** A varint field. */
function int(num: number, value: number): number[] {
  return [...varint(num << 3), ...varint(value)];
}

function tensorValue(name: string): number[] {
  const dims = [...field(1, int(1, 1)), ...field(1, int(1, 4))]; // TensorShapeProto.dim { dim_value }
  const tensorType = [...int(1, 1), ...field(2, dims)]; // elem_type FLOAT, shape
  return [...field(1, name), ...field(2, field(1, tensorType))]; // ValueInfoProto { name, type { tensor_type } }
}

export function reluModel(): Uint8Array {
  const node = [...field(1, "x"), ...field(2, "y"), ...field(4, "Relu")];
  const graph = [...field(1, node), ...field(2, "probe"), ...field(11, tensorValue("x")), ...field(12, tensorValue("y"))];
  const opset = [...field(1, ""), ...int(2, 13)];
  return Uint8Array.from([...int(1, 8), ...field(8, opset), ...field(7, graph)]);
}
