/**
 * What live-session benchmarks share: held-out speech as 16 kHz PCM16, and drift-free real-time
 * pacing of it in 40 ms chunks (chunk k goes out at t0 + 40 k ms, however late the timer fires).
 * Plain JavaScript, like sessions.mjs, so it runs on a machine with only node and `ws`.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Samples per audio chunk (40 ms at 16 kHz), and the chunk period in ms. */
export const CHUNK_SAMPLES = 640;
export const CHUNK_MS = 40;

/** 16 kHz mono PCM16 speech, `seconds` long: the held-out sentences (or `wav`) back to back. */
export function speech(seconds, wav) {
  const dir = path.join(here, "..", "models", "heldout");
  const files = wav ? [wav] : JSON.parse(readFileSync(path.join(dir, "heldout.json"), "utf8")).utterances.map((u) => path.join(dir, `${u.name}.wav`));
  const parts = [];
  let bytes = 0;
  for (let i = 0; bytes < seconds * 32000; i++) {
    const file = readFileSync(files[i % files.length]);
    let off = 12;
    while (off + 8 <= file.length) {
      const id = file.toString("ascii", off, off + 4);
      const size = file.readUInt32LE(off + 4);
      if (id === "fmt " && file.readUInt32LE(off + 12) !== 16000) throw new Error("the bench's speech must be 16 kHz PCM16 WAV");
      if (id === "data") {
        parts.push(file.subarray(off + 8, off + 8 + size));
        bytes += size;
        break;
      }
      off += 8 + size + (size & 1);
    }
  }
  return Buffer.concat(parts).subarray(0, Math.floor(seconds * 16000) * 2);
}

/**
 * Sends `pcm` (PCM16) in real time: `send(chunk, k)` for chunk k at t0 + 40 k ms, then `done()`.
 * Returns a function that stops early (no `done`). `sentAt[k]` records when chunk k went out.
 */
export function pace(pcm, send, done, sentAt = []) {
  const total = pcm.length / 2;
  const t0 = performance.now();
  let k = 0;
  let timer;
  const tick = () => {
    while (k * CHUNK_SAMPLES < total && performance.now() >= t0 + k * CHUNK_MS) {
      send(pcm.subarray(k * CHUNK_SAMPLES * 2, Math.min(pcm.length, (k + 1) * CHUNK_SAMPLES * 2)), k);
      sentAt[k++] = performance.now();
    }
    if (k * CHUNK_SAMPLES >= total) {
      clearInterval(timer);
      done();
    }
  };
  timer = setInterval(tick, 5);
  tick();
  return () => clearInterval(timer);
}
