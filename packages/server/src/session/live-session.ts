/**
 * A live session as transports see it: the session protocol (protocol.ts) over a SessionRunner.
 * Commands go in through `send`, which never throws: a command the session refuses (a chunk too
 * large, audio past the queue bound, a format change mid-utterance) ends it with an "error"
 * event, the same way on every transport. Events come out of `events`: "started" first, then the
 * runner's outputs; each is shown to an observer (metrics, draining) on the way.
 */
import type { SessionStarted } from "@lipsync/proto";
import type { Avatar } from "../avatar/avatar.js";
import { asLipSyncError, type LipSyncError } from "../errors.js";
import { checkAudioInput, type SessionCommand, type SessionEvent, type SessionOutput } from "./protocol.js";
import type { SessionRunner } from "./session-runner.js";

export interface SessionObserver {
  /** Every output, as it leaves for the consumer. */
  output(session: LiveSession, out: SessionOutput): void;
  /** The session is over (once). */
  closed(session: LiveSession): void;
}

export class LiveSession {
  private done = false;

  constructor(
    readonly id: string,
    readonly avatar: Avatar,
    readonly started: SessionStarted,
    private readonly runner: SessionRunner,
    private readonly observer: SessionObserver,
  ) {}

  /** One command; a refused one ends the session with an "error" event. */
  send(cmd: SessionCommand): void {
    try {
      switch (cmd.type) {
        case "audio": {
          const f = cmd.format && checkAudioInput(cmd.format);
          this.runner.pushChunk(cmd.data, f && { rate: f.sampleRate, encoding: f.encoding, channels: f.channels });
          return;
        }
        case "samples":
          this.runner.pushAudio(cmd.samples);
          return;
        case "end":
          this.runner.end();
          return;
        case "clear":
          this.runner.clear();
          return;
        case "position":
          this.runner.playbackPosition(cmd.pts);
          return;
        case "stop":
          this.runner.finish();
          return;
      }
    } catch (err) {
      this.fail(asLipSyncError(err));
    }
  }

  /** Ends the session with `error` (its last event), e.g. a transport's protocol violation or shutdown. */
  fail(error: LipSyncError): void {
    this.runner.close(error);
  }

  /** The consumer is gone: unsent frames dropped, engine work cancelled, capacity released. Idempotent. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.runner.abort();
    this.observer.closed(this);
  }

  /** 16 kHz samples received and not yet rendered (what a clip feeder paces itself by). */
  get backlogSamples(): number {
    return this.runner.session.queuedSamples;
  }

  /** "started", then the outputs in order; after the last (or an "error") the session is closed. */
  get events(): AsyncIterable<SessionEvent> {
    return this.stream();
  }

  private async *stream(): AsyncGenerator<SessionEvent> {
    try {
      yield { type: "started", started: this.started };
      try {
        for await (const out of this.runner) {
          this.observer.output(this, out);
          yield out;
        }
      } catch (err) {
        yield { type: "error", error: asLipSyncError(err) };
      }
    } finally {
      this.close();
    }
  }
}
