/**
 * A whole clip played through a session (SpeakAudio, `lipsync render`): fed in pieces as
 * rendering makes room, at most `aheadSeconds` of it waiting unrendered, so a long clip never
 * holds its whole audio in the session's queues; after the last piece the utterance ends (and,
 * with `stop`, the session once its frames are out).
 */
import { SAMPLE_RATE } from "../audio/constants.js";
import type { LiveSession } from "./live-session.js";
import type { SessionEvent } from "./protocol.js";

/** Pieces of a fifth of a second: small enough to keep the queue even, large enough to be cheap. */
const PIECES_PER_SECOND = 5;

/** The session's events, with the clip fed between them. */
export async function* playClip(session: LiveSession, samples: Float32Array, rate: number, aheadSeconds: number, then: "end" | "stop"): AsyncGenerator<SessionEvent> {
  const piece = Math.max(1, Math.floor(rate / PIECES_PER_SECOND));
  let offset = 0;
  const feed = () => {
    if (offset > samples.length) return;
    while (offset < samples.length && session.backlogSamples < SAMPLE_RATE * aheadSeconds) {
      session.send({ type: "samples", samples: samples.subarray(offset, offset + piece) });
      offset += piece;
    }
    if (offset >= samples.length) {
      offset = Number.POSITIVE_INFINITY;
      session.send({ type: then });
    }
  };
  for await (const e of session.events) {
    yield e;
    feed();
  }
}
