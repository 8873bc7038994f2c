/**
 * A reader for NumPy's .npy files (the original pipelines' `aud_ave.npy`, `aud_hu.npy`,
 * `aud_wenet.npy`): little-endian float32 or float64, C order, any shape. Errors say what is
 * wrong with the file, never where it is.
 */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error("not a .npy file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (major < 1 || major > 3 || headerStart + headerLen > bytes.length) throw new Error(`unsupported .npy version ${major}`);
  const header = new TextDecoder("latin1").decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new Error(".npy header is malformed");
  if (fortran === "True") throw new Error(".npy array is in Fortran order (save it with np.ascontiguousarray)");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(".npy shape is malformed");
  const count = shape.reduce((a, b) => a * b, 1);
  const size = descr === "<f4" ? 4 : descr === "<f8" ? 8 : 0;
  if (size === 0) throw new Error(`.npy dtype ${descr} is not supported (float32 or float64, little-endian)`);
  const dataStart = headerStart + headerLen;
  if (bytes.length - dataStart < count * size) throw new Error(`.npy data is truncated: shape (${shape.join(", ")}) needs ${count * size} bytes`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = size === 4 ? view.getFloat32(dataStart + 4 * i, true) : view.getFloat64(dataStart + 8 * i, true);
  return { shape, data };
}

/** The rows of a 2-D or higher array as flat per-row arrays (views, not copies). */
export function npyRows(array: NpyArray): Float32Array[] {
  const rows = array.shape[0] ?? 0;
  const per = rows === 0 ? 0 : array.data.length / rows;
  return Array.from({ length: rows }, (_, i) => array.data.subarray(i * per, (i + 1) * per));
}
