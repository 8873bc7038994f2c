import { describe, expect, it } from "vitest";
import { LipSyncClientError, type AudioSpec, type PcmSpec } from "./client.js";
import { createLipSyncClient } from "./index.js";

describe("LipSyncClient", () => {
  it("refuses speak() where fetch cannot stream both ways, naming what works instead", () => {
    const c = createLipSyncClient({ baseUrl: "http://127.0.0.1:9" });
    expect(() => c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } })).toThrow(LipSyncClientError);
    expect(() => c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } })).toThrow(/speakAudio\(\) for a clip or LipSyncSocket/);
  });

  it("types speak() as raw PCM with a rate, speakAudio() as WAV or PCM", () => {
    const pcm: PcmSpec = { encoding: "pcm_f32le", sampleRate: 48000, channels: 2 };
    const clip: AudioSpec[] = [{ encoding: "wav" }, pcm];
    // Compile-time checks (pnpm typecheck fails if any line below stops being an error).
    // @ts-expect-error WAV is a file format: speak() streams PCM chunks
    const wav: PcmSpec = { encoding: "wav" };
    // @ts-expect-error a PCM stream needs its sample rate
    const rateless: PcmSpec = { encoding: "pcm_s16le" };
    expect([clip.length, wav.encoding, rateless.encoding]).toEqual([2, "wav", "pcm_s16le"]);
  });
});
