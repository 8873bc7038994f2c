import { describe, expect, it } from "vitest";
import { npyRows, parseNpy } from "./npy.js";

/** A .npy file as NumPy writes it (version 1.0, header padded to 64 bytes). */
function npy(descr: string, shape: number[], values: number[], fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
  const size = descr === "<f8" ? 8 : 4;
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  values.forEach((v, i) => (size === 8 ? view.setFloat64(i * 8, v, true) : view.setFloat32(i * 4, v, true)));
  return out;
}

describe(".npy reader", () => {
  it("reads float32 and float64 arrays into rows", () => {
    const a = parseNpy(npy("<f4", [3, 2], [1, 2, 3, 4, 5, 6.5]));
    expect(a.shape).toEqual([3, 2]);
    expect(npyRows(a).map((r) => Array.from(r))).toEqual([[1, 2], [3, 4], [5, 6.5]]);
    const b = parseNpy(npy("<f8", [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    expect(npyRows(b).map((r) => r.length)).toEqual([4, 4]);
    expect(b.data[7]).toBe(7);
  });

  it("says what is wrong with a file it cannot read", () => {
    expect(() => parseNpy(new TextEncoder().encode("not numpy at all"))).toThrow(/not a .npy file/);
    expect(() => parseNpy(npy("<i8", [2], [1, 2]))).toThrow(/dtype <i8 is not supported/);
    expect(() => parseNpy(npy("<f4", [2, 2], [1, 2, 3, 4], true))).toThrow(/Fortran order/);
    expect(() => parseNpy(npy("<f4", [4, 4], [1, 2, 3]))).toThrow(/truncated/);
  });
});
