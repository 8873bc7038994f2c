/**
 * The size a JPEG file states in its frame header (SOFn), read without decoding: lazy mode
 * serves a package's frame files as they are (GetSourceFrame, idle frames), so every one is
 * checked to be a JPEG of the manifest's size when the package loads, at a few microseconds a
 * frame, and a decoder never sees a frame that claims to be larger than the manifest says.
 */

/** SOF markers: baseline, extended, progressive, lossless (Huffman and arithmetic). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Width and height of a JPEG, or undefined when `bytes` is not one (or its header is cut). */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    // Fill bytes (0xFF 0xFF ...) may precede a marker.
    if (marker === 0xff) {
      i++;
      continue;
    }
    // Markers without a length: TEM, RSTn; SOI again or EOI before a frame header: not a frame.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd8 || marker === 0xd9) return undefined;
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (length < 2) return undefined;
    if (SOF.has(marker)) {
      if (i + 9 > bytes.length) return undefined;
      const height = (bytes[i + 5]! << 8) | bytes[i + 6]!;
      const width = (bytes[i + 7]! << 8) | bytes[i + 8]!;
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    i += 2 + length;
  }
  return undefined;
}
