import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage, encodeJpeg, jpegEncoder } from "./jpeg.js";

/** A smooth RGB test picture (gradients and a disc), unique per `seed`. */
function picture(width: number, height: number, seed: number, buffer?: ArrayBufferLike): Uint8Array {
  const rgb = buffer ? new Uint8Array(buffer, 0, width * height * 3) : new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inDisc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (width / 4) ** 2;
      rgb[i] = (x * 255) / width;
      rgb[i + 1] = inDisc ? 230 : (y * 255) / height;
      rgb[i + 2] = (seed * 37) & 255;
    }
  }
  return rgb;
}

function meanAbsError(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe("encodeJpeg", () => {
  it("uses libjpeg-turbo's binding here (its prebuilt library ships for linux-x64)", () => {
    expect(jpegEncoder).toBe("libjpeg-turbo");
  });

  for (const [w, h] of [[128, 128], [512, 512], [33, 17]] as const) {
    it(`encodes ${w} x ${h} (${w * h <= 65536 ? "on the calling thread" : "in libuv's pool"}) as faithfully as sharp did`, async () => {
      const rgb = picture(w, h, 1);
      const jpeg = await encodeJpeg(rgb, w, h, 85);
      expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
      const back = await decodeImage(jpeg);
      expect([back.width, back.height]).toEqual([w, h]);
      const before = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85, chromaSubsampling: "4:2:0" }).toBuffer();
      const reference = meanAbsError((await decodeImage(before)).data, rgb);
      expect(meanAbsError(back.data, rgb)).toBeLessThan(reference * 1.1 + 0.2);
      // Standard Huffman tables where sharp optimised them: about 330 bytes more on a real mouth
      // patch (11-13%), 1-2% on a whole frame; more on these sharp-edged pictures.
      expect(jpeg.length).toBeLessThan(before.length * 1.35 + 400);
    });
  }

  it("reads frames in a SharedArrayBuffer and keeps concurrent encodes apart (reused output buffers)", async () => {
    const w = 320;
    const h = 320;
    const pictures = Array.from({ length: 12 }, (_, k) => picture(w, h, k, new SharedArrayBuffer(w * h * 3)));
    const jpegs = await Promise.all(pictures.map((p) => encodeJpeg(p, w, h, 90)));
    for (let k = 0; k < pictures.length; k++) {
      const back = await decodeImage(jpegs[k]!);
      expect(meanAbsError(back.data, pictures[k]!)).toBeLessThan(3);
    }
    // Outputs are exact-size copies with their own buffers (transferable), not views into a
    // worst-case buffer or Node's pool.
    for (const j of jpegs) expect(j.buffer.byteLength).toBe(j.length);
  });

  it("refuses a picture shorter than its size says", async () => {
    await expect(encodeJpeg(new Uint8Array(100), 64, 64, 80)).rejects.toThrow();
  });
});
