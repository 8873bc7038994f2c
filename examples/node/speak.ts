/**
 * A voice agent's side, in Node: stream a WAV to the server over gRPC in 20 ms chunks, as a TTS
 * would, and save the lip-synced frames as JPEG files.
 *
 *   npx tsx examples/node/speak.ts http://localhost:8080 models/heldout/gate-0.wav /tmp/frames
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createLipSyncClient } from "@lipsync/client/node";

export async function speakFile(server: string, wavFile: string, outDir: string): Promise<{ frames: number; firstFrameMs: number }> {
  const wav = readFileSync(wavFile);
  const rate = wav.readUInt32LE(24);
  const pcm = wav.subarray(44); // 16-bit mono PCM after a 44-byte header, as our samples are
  const client = createLipSyncClient({ baseUrl: server, protocol: "grpc" });
  const session = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: rate } });
  mkdirSync(outDir, { recursive: true });
  const start = performance.now();
  const chunk = (rate / 50) * 2;
  for (let i = 0; i < pcm.length; i += chunk) session.pushAudio(pcm.subarray(i, i + chunk));
  session.end();
  let frames = 0;
  let firstFrameMs = 0;
  for await (const event of session.events) {
    if (event.type === "frame") {
      if (!frames) firstFrameMs = performance.now() - start;
      writeFileSync(path.join(outDir, `${String(frames++).padStart(5, "0")}.jpg`), event.frame.image);
    }
    if (event.type === "playback-finished") break;
  }
  session.close();
  return { frames, firstFrameMs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [server = "http://localhost:8080", wav = "models/heldout/gate-0.wav", out = "/tmp/lipsync-frames"] = process.argv.slice(2);
  console.log(await speakFile(server, wav, out));
}
