/**
 * One short utterance through a freshly loaded avatar's whole speech path (features, the model,
 * compositing) before any session gets it. The first speech frames of a process run its
 * per-pixel loops before V8 has optimised them and the model's first batches pay for their
 * allocations: a room session's first utterance stalled the server's clock 160-270 ms on two
 * cores (its second, 40-80 ms), and the frames of the stall were lost.
 */
import { FrameKind } from "@lipsync/proto";
import { SAMPLE_RATE as RATE } from "../audio/constants.js";
import type { Avatar } from "../avatar/avatar.js";
import { SessionRunner } from "./session-runner.js";

/** Seconds of speech the warm-up renders: enough frames for several batches. */
const WARM_UP_SECONDS = 0.6;

/** A voiced-like signal (a carrier under a syllable-rate envelope), so that the mouth moves. */
function utterance(seconds: number): Float32Array {
  return Float32Array.from({ length: Math.round(RATE * seconds) }, (_, i) => 0.3 * Math.sin(i * 0.2) * Math.abs(Math.sin((i / RATE) * Math.PI * 4)));
}

/** Renders the warm-up utterance and returns the speech frames it made and how long it took, ms. */
export async function warmUp(avatar: Avatar): Promise<{ frames: number; ms: number }> {
  const started = performance.now();
  const runner = new SessionRunner(avatar, { continuous: false, inputRate: RATE, encoding: "rgb", quality: 80, maxQueuedFrames: 100, maxQueuedSeconds: 10 });
  let frames = 0;
  try {
    runner.pushAudio(utterance(WARM_UP_SECONDS));
    runner.end();
    for await (const out of runner) {
      if (out.type === "frame" && out.frame.kind === FrameKind.SPEECH) frames++;
      // A runner stays open for the next utterance: the end of this one is the end.
      if (out.type === "speech-ended") break;
    }
  } finally {
    runner.close();
  }
  return { frames, ms: performance.now() - started };
}
