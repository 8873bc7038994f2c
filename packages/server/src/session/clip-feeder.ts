/**
 * A whole clip fed to a session in pieces as rendering makes room (SpeakAudio, `lipsync render`):
 * at most `aheadSeconds` of it waits unrendered, so a long clip never holds its whole audio in the
 * session's queues, and the session ends once the last piece is in.
 */
import { SAMPLE_RATE } from "../audio/constants.js";
import type { SessionRunner } from "./session-runner.js";

/** Pieces of a fifth of a second: small enough to keep the queue even, large enough to be cheap. */
const PIECES_PER_SECOND = 5;

export class ClipFeeder {
  private offset = 0;
  private readonly piece: number;

  /** `close`: the session closes once the clip's frames are out (a stream that ends with its clip). */
  constructor(private readonly runner: SessionRunner, private readonly samples: Float32Array, rate: number, private readonly aheadSeconds: number, private readonly close = false) {
    this.piece = Math.max(1, Math.floor(rate / PIECES_PER_SECOND));
  }

  /** Pushes what fits; ends the utterance after the last piece. Call again as outputs are read. */
  feed(): void {
    if (this.done) return;
    while (this.offset < this.samples.length && this.runner.session.queuedSamples < SAMPLE_RATE * this.aheadSeconds) {
      this.runner.pushAudio(this.samples.subarray(this.offset, this.offset + this.piece));
      this.offset += this.piece;
    }
    if (this.offset >= this.samples.length) {
      this.offset = Number.POSITIVE_INFINITY;
      if (this.close) this.runner.finish();
      else this.runner.end();
    }
  }

  /** Every sample is in and the utterance ended. */
  get done(): boolean {
    return this.offset === Number.POSITIVE_INFINITY;
  }
}
