/**
 * The media contract shared by the server, the SDK and the player (and checked against
 * training/constants.py by a test): the session clock, the video frame it is divided into, and
 * the idle walk. Plain TypeScript with no imports, so browsers bundle it as it is.
 *
 * Every frame's pts counts samples of the 16 kHz session clock; an avatar's fps divides 16000,
 * so one video frame is exactly SAMPLE_RATE / fps samples: pts never drift from the audio.
 */

/** The session clock and the model's audio rate, samples per second. */
export const SAMPLE_RATE = 16_000;
/** Video frames per second of format-version-1 avatars (version 2 states its own). */
export const FPS = 25;
/** Samples per video frame at FPS: 640 (40 ms). pts of consecutive frames differ by exactly this. */
export const SAMPLES_PER_FRAME = SAMPLE_RATE / FPS;
if (!Number.isInteger(SAMPLES_PER_FRAME)) throw new Error("SAMPLE_RATE must be a multiple of FPS");
/** One video frame at FPS, milliseconds: 40. */
export const FRAME_MS = 1000 / FPS;

/**
 * Samples per video frame at `fps` (800 at 20 fps), or undefined when the frame would not hold
 * a whole number of samples.
 */
export function samplesPerFrameAt(fps: number): number | undefined {
  const spf = SAMPLE_RATE / fps;
  return Number.isInteger(spf) && spf > 0 ? spf : undefined;
}

/**
 * The idle loop's source frame at video frame `step` of the clock: a ping-pong walk over the
 * footage, 0, 1, .., n-1, n-2, .., 1, 0, 1, .., so the loop never jumps. Server and player both
 * walk it by pts / samples per frame, so speech starts from the idle frame on screen.
 */
export function idleIndex(step: number, frameCount: number): number {
  if (frameCount <= 1) return 0;
  const period = 2 * (frameCount - 1);
  const p = ((step % period) + period) % period;
  return p < frameCount ? p : period - p;
}
