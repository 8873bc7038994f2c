/**
 * Just enough of ONNX's protobuf encoding (onnx.proto3) to write a small graph: a model with an
 * opset import, value infos with symbolic or fixed dims, int64 initializers and nodes without
 * attributes. Field numbers are onnx.proto's; nothing here reads ONNX.
 */

export type Dim = number | string;
export interface ValueInfo {
  name: string;
  /** TensorProto.DataType (1 = FLOAT). */
  elemType: number;
  dims: readonly Dim[];
}
export interface Int64Tensor {
  name: string;
  int64: readonly bigint[];
}
export interface Node {
  op: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
}
export interface Graph {
  opset: number;
  producer: string;
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  initializers: readonly Int64Tensor[];
  nodes: readonly Node[];
}

const IR_VERSION = 8; // ONNX 1.10+, which every onnxruntime this project pins reads
const INT64 = 7; // TensorProto.INT64

class Writer {
  private readonly parts: number[] = [];

  varint(v: bigint | number): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
    return this;
  }

  /** Field `n` as a varint (wire type 0). */
  int(n: number, v: bigint | number): this {
    return this.varint((n << 3) | 0).varint(v);
  }

  /** Field `n` as length-delimited bytes (wire type 2). */
  bytes(n: number, b: Uint8Array): this {
    this.varint((n << 3) | 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }

  string(n: number, s: string): this {
    return this.bytes(n, new TextEncoder().encode(s));
  }

  message(n: number, w: Writer): this {
    return this.bytes(n, w.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, typeof d === "number" ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensor = new Writer().int(1, v.elemType).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensor));
}

function int64Tensor(t: Int64Tensor): Writer {
  const raw = new Uint8Array(8 * t.int64.length);
  const view = new DataView(raw.buffer);
  t.int64.forEach((x, i) => view.setBigInt64(8 * i, x, true));
  return new Writer().int(1, t.int64.length).int(2, INT64).string(8, t.name).bytes(9, raw);
}

function node(n: Node): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  return w.string(3, n.name).string(4, n.op);
}

/** The ModelProto bytes of `g`. */
export function encodeModel(g: Graph): Uint8Array {
  const graph = new Writer();
  for (const n of g.nodes) graph.message(1, node(n));
  graph.string(2, "standin");
  for (const t of g.initializers) graph.message(5, int64Tensor(t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  return new Writer().int(1, IR_VERSION).string(2, g.producer).message(7, graph).message(8, new Writer().string(1, "").int(2, g.opset)).finish();
}
