/**
 * The room session's player, Sans-I/O: what the avatar's tracks carry in each video slot. It
 * takes the agent's utterances (audio at the track's rate), the session's speech frames (by pts)
 * and barge-in, and on every tick of a 25 fps clock (the driver's timer) says which frame to show
 * now and which audio to queue, with the protocol events due at that moment. No timers, no
 * sockets, no LiveKit: tests drive it with plain calls.
 *
 * - Audio is the master. A slot's audio is decided `leadSlots` ticks before its video is shown
 *   and queued in the track's audio source that far ahead, so both leave the process together:
 *   slot j of an utterance carries its audio samples [b(j), b(j+1)) and the frame with pts
 *   startPts + j * spf, the frame the session rendered from exactly that audio.
 * - An utterance starts once its first `startFrames` frames are rendered. A frame missing when
 *   its slot is shown leaves the previous frame up (the audio goes on); one arriving after its
 *   slot is discarded. Audio that has not arrived yet (a stream slower than real time) holds the
 *   picture and queues silence until it comes.
 * - Between utterances the avatar's idle loop plays on the same pts walk the session's speech
 *   frames take their source frame from, so speech starts from (near) the idle frame on screen.
 * - Barge-in drops every queued utterance and the slots decided but not yet shown; the next slot
 *   is idle, and the one "finished" event reports how much of the cut utterance was shown.
 */
import { idleIndex } from "../../session/speech-session.js";
import { SAMPLE_RATE } from "../../audio/constants.js";
import { PcmBuffer } from "./pcm-buffer.js";

export interface PlayoutSettings {
  /** 16 kHz samples per video frame (the avatar's fps). */
  samplesPerFrame: number;
  /** Frames of the avatar's idle footage. */
  frameCount: number;
  /** Sample rate of the utterances' audio and of the published track. */
  rate: number;
  /** Slots between deciding a slot's audio and showing its frame. */
  leadSlots: number;
  /** Frames of an utterance rendered before it starts. */
  startFrames: number;
  /** The idle walk starts this many slots behind the session clock (see room-session.ts). */
  initialLagSlots: number;
}

export type PlayoutEvent =
  | { type: "started"; segment: number }
  | { type: "finished"; segment: number; position: number; interrupted: boolean };

export type Shown<T> =
  | { kind: "idle"; sourceIndex: number }
  | { kind: "speech"; pts: number; frame: T }
  /** Keep the frame on screen: a speech frame that is late or dropped, or a stalled stream. */
  | { kind: "hold" };

export interface Tick<T> {
  /** Audio to queue now, in order (one slot each). */
  audio: Float32Array[];
  show: Shown<T>;
  /** Due now: the first slot of an utterance is on screen, or its last has played. */
  events: PlayoutEvent[];
}

interface Segment {
  id: number;
  /** pts of its first frame, once the session says (speech-started). */
  startPts: number | undefined;
  audio: PcmBuffer;
  ended: boolean;
  /** Next slot of the utterance to decide, and slots shown. */
  next: number;
  shown: number;
  /** Samples given to the session, and whether its end was. */
  fed: number;
  fedEnd: boolean;
}

interface Plan {
  show: { kind: "idle"; pts: number } | { kind: "speech"; pts: number } | { kind: "hold" };
  segment: Segment | undefined;
  events: PlayoutEvent[];
}

export type Feed = { segment: number; samples: Float32Array } | { segment: number; end: true };

export class Playout<T> {
  private readonly s: PlayoutSettings;
  /** Samples of the track's rate per 16 kHz sample. */
  private readonly perSample: number;
  /** Utterances not yet fully shown, oldest first; `playing` is the one being decided. */
  private segments: Segment[] = [];
  private playing: Segment | undefined;
  private nextId = 1;
  private plans: Plan[] = [];
  /** pts the next idle slot shows. */
  private nextPts: number;
  private lastShownPts: number;
  /** Events for the next decided slot. */
  private carry: PlayoutEvent[] = [];
  /** Speech frames by pts; null: dropped by the session (too late to render). */
  private frames = new Map<number, T | null>();
  private fedTotal = 0;
  private playedTotal = 0;
  private idleSlots = 0;

  constructor(settings: PlayoutSettings) {
    this.s = settings;
    this.perSample = settings.rate / SAMPLE_RATE;
    this.nextPts = -settings.initialLagSlots * settings.samplesPerFrame;
    this.lastShownPts = this.nextPts - settings.samplesPerFrame;
  }

  /** An utterance begins (a stream opened); its id names it in events. */
  startSegment(): number {
    const seg: Segment = { id: this.nextId++, startPts: undefined, audio: new PcmBuffer(), ended: false, next: 0, shown: 0, fed: 0, fedEnd: false };
    this.segments.push(seg);
    return seg.id;
  }

  pushAudio(id: number, samples: Float32Array): void {
    const seg = this.find(id);
    if (seg && !seg.ended && samples.length > 0) seg.audio.append(samples);
  }

  endAudio(id: number): void {
    const seg = this.find(id);
    if (!seg || seg.ended) return;
    seg.ended = true;
    if (seg.audio.end === 0) {
      // Nothing to play and nothing for the session: it is over at once.
      this.segments = this.segments.filter((x) => x !== seg);
      this.carry.push({ type: "finished", segment: seg.id, position: 0, interrupted: false });
    }
  }

  /** The session began rendering its next utterance at `pts` (they come in the order fed). */
  speechStarted(pts: number): void {
    const seg = this.segments.find((x) => x.fed > 0 && x.startPts === undefined);
    if (seg) seg.startPts = pts;
  }

  frame(pts: number, image: T): void {
    if (pts > this.lastShownPts) this.frames.set(pts, image);
  }

  /** The session dropped the frames [startPts, endPts) unrendered. */
  dropped(startPts: number, endPts: number): void {
    for (let p = startPts; p < endPts; p += this.s.samplesPerFrame) if (p > this.lastShownPts && !this.frames.has(p)) this.frames.set(p, null);
  }

  /**
   * Audio for the session, in order, while at most `aheadSamples` of it waits to be played: an
   * utterance's audio only after the one before it ended, so the session's utterances are the
   * streams'.
   */
  takeFeed(aheadSamples: number): Feed[] {
    const out: Feed[] = [];
    for (const seg of this.segments) {
      if (seg.fedEnd) continue;
      const room = aheadSamples - (this.fedTotal - this.playedTotal);
      const n = Math.min(seg.audio.end - seg.fed, Math.max(0, room));
      if (n > 0) {
        out.push({ segment: seg.id, samples: seg.audio.read(seg.fed, seg.fed + n) });
        seg.fed += n;
        this.fedTotal += n;
      }
      if (!seg.ended || seg.fed < seg.audio.end) break;
      seg.fedEnd = true;
      out.push({ segment: seg.id, end: true });
    }
    return out;
  }

  /** One slot of the clock: show the slot that is due, and decide the audio `leadSlots` ahead. */
  tick(): Tick<T> {
    const audio: Float32Array[] = [];
    while (this.plans.length < this.s.leadSlots + 1) {
      const { plan, chunk } = this.decide();
      this.plans.push(plan);
      audio.push(chunk);
    }
    const plan = this.plans.shift()!;
    return { audio, show: this.show(plan), events: plan.events };
  }

  /**
   * The driver's clock stalled past the audio queued ahead: the audio of the slots decided
   * before the stall has played (while their pictures could not be shown), so those slots are
   * passed over, their events kept, and the next tick shows the slot whose audio plays next.
   */
  skipDecided(): PlayoutEvent[] {
    const events: PlayoutEvent[] = [];
    for (const plan of this.plans.splice(0)) {
      this.show(plan);
      events.push(...plan.events);
    }
    return events;
  }

  /**
   * Barge-in: every utterance and every slot not yet shown is dropped. Returns the "finished"
   * event of the utterance on screen (or the oldest waiting one), due at once.
   */
  clear(): PlayoutEvent | undefined {
    const cut = this.segments[0];
    this.segments = [];
    this.playing = undefined;
    this.plans = [];
    this.carry = this.carry.filter((e) => e.type !== "finished" || e.segment !== cut?.id);
    this.frames.clear();
    this.fedTotal = this.playedTotal = 0;
    this.nextPts = this.lastShownPts + this.s.samplesPerFrame;
    if (!cut) return undefined;
    const shownSamples = Math.min(this.boundary(cut.shown), cut.audio.end);
    return { type: "finished", segment: cut.id, position: shownSamples / this.s.rate, interrupted: true };
  }

  /** Source frames of the idle slots decided and not yet shown (to load them before they are due). */
  upcomingIdle(): number[] {
    return this.plans.flatMap((p) => (p.show.kind === "idle" ? [idleIndex(p.show.pts / this.s.samplesPerFrame, this.s.frameCount)] : []));
  }

  /** Utterances not yet fully played (queued, or on screen). */
  get pendingSegments(): number {
    return this.segments.length;
  }

  private find(id: number): Segment | undefined {
    return this.segments.find((x) => x.id === id);
  }

  /** First sample of utterance slot j at the track's rate. */
  private boundary(j: number): number {
    return Math.floor(j * this.s.samplesPerFrame * this.perSample);
  }

  /** Slots of an utterance of n samples. */
  private slotsOf(n: number): number {
    return Math.ceil(n / (this.s.samplesPerFrame * this.perSample) - 1e-9);
  }

  private canStart(seg: Segment): boolean {
    if (seg.startPts === undefined) return false;
    if (!seg.ended && seg.audio.end < this.boundary(1)) return false;
    const need = Math.min(this.s.startFrames, seg.ended ? this.slotsOf(seg.audio.end) : this.s.startFrames);
    for (let i = 0; i < need; i++) if (!this.frames.has(seg.startPts + i * this.s.samplesPerFrame)) return false;
    return true;
  }

  private decide(): { plan: Plan; chunk: Float32Array } {
    const events = this.carry;
    this.carry = [];
    const head = this.segments.find((x) => x.next === 0 || x === this.playing);
    if (!this.playing && head && head.next === 0 && this.canStart(head)) {
      this.playing = head;
      events.push({ type: "started", segment: head.id });
    }
    const seg = this.playing;
    if (!seg) {
      const pts = this.nextPts;
      this.nextPts += this.s.samplesPerFrame;
      return { plan: { show: { kind: "idle", pts }, segment: undefined, events }, chunk: new Float32Array(this.slotSamples()) };
    }
    const from = this.boundary(seg.next);
    const to = this.boundary(seg.next + 1);
    if (seg.audio.end < to && !seg.ended) {
      return { plan: { show: { kind: "hold" }, segment: undefined, events }, chunk: new Float32Array(to - from) };
    }
    const chunk = seg.audio.read(from, to);
    const pts = seg.startPts! + seg.next * this.s.samplesPerFrame;
    seg.next++;
    this.playedTotal += to - from;
    seg.audio.discardBefore(Math.min(to, seg.fed));
    if (seg.ended && seg.next >= this.slotsOf(seg.audio.end)) {
      // Decided to its end: it finishes once its last slot has played, at the next slot.
      this.carry.push({ type: "finished", segment: seg.id, position: seg.audio.end / this.s.rate, interrupted: false });
      this.playing = undefined;
      this.nextPts = pts + this.s.samplesPerFrame;
    }
    return { plan: { show: { kind: "speech", pts }, segment: seg, events }, chunk };
  }

  /** Samples of the next idle slot: whole slots of silence that never drift from the video clock. */
  private slotSamples(): number {
    const k = this.idleSlots++;
    return this.boundary(k + 1) - this.boundary(k);
  }

  private show(plan: Plan): Shown<T> {
    const finished = plan.events.filter((e) => e.type === "finished").map((e) => e.segment);
    if (finished.length) this.segments = this.segments.filter((x) => !finished.includes(x.id));
    if (plan.show.kind === "idle") {
      this.lastShownPts = plan.show.pts;
      return { kind: "idle", sourceIndex: idleIndex(plan.show.pts / this.s.samplesPerFrame, this.s.frameCount) };
    }
    if (plan.show.kind === "hold") return { kind: "hold" };
    const { pts } = plan.show;
    if (plan.segment) plan.segment.shown++;
    this.lastShownPts = pts;
    const frame = this.frames.get(pts);
    for (const p of this.frames.keys()) if (p <= pts) this.frames.delete(p);
    return frame ? { kind: "speech", pts, frame } : { kind: "hold" };
  }
}
