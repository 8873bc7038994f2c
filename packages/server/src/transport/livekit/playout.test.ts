import { describe, expect, it } from "vitest";
import { idleIndex } from "../../session/speech-session.js";
import { Playout, type PlayoutEvent, type Tick } from "./playout.js";

const SPF = 640;
const RATE = 24_000;
/** Track samples per slot at 24 kHz and 25 fps. */
const SLOT = 960;
const LEAD = 2;

function playout(over: Partial<ConstructorParameters<typeof Playout>[0]> = {}) {
  return new Playout<string>({ samplesPerFrame: SPF, frameCount: 10, rate: RATE, leadSlots: LEAD, startFrames: 1, initialLagSlots: 0, ...over });
}

/** A ramp, so every sample says where it came from. */
function ramp(n: number, from = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (from + i + 1) / 1e6);
}

/** An utterance of `slots` slots fed to the session and rendered at pts `p0`. */
function utterance(p: Playout<string>, slots: number, p0: number, frames = slots): number {
  const id = p.startSegment();
  p.pushAudio(id, ramp(slots * SLOT));
  p.endAudio(id);
  p.takeFeed(Number.POSITIVE_INFINITY);
  p.speechStarted(p0);
  for (let j = 0; j < frames; j++) p.frame(p0 + j * SPF, `f${j}`);
  return id;
}

const events = (ticks: Tick<string>[]) => ticks.flatMap((t, i) => t.events.map((e) => ({ ...e, at: i })));

describe("Playout", () => {
  it("plays the idle loop with silence, the audio decided lead slots ahead of the picture", () => {
    const p = playout();
    const first = p.tick();
    expect(first.audio).toHaveLength(LEAD + 1);
    expect(first.audio.every((a) => a.length === SLOT && a.every((x) => x === 0))).toBe(true);
    const shown = [first, ...Array.from({ length: 20 }, () => p.tick())];
    expect(shown.slice(1).every((t) => t.audio.length === 1)).toBe(true);
    expect(shown.map((t) => (t.show.kind === "idle" ? t.show.sourceIndex : -1))).toEqual(Array.from({ length: 21 }, (_, k) => idleIndex(k, 10)));
  });

  it("plays an utterance slot by slot: its own audio with the frame rendered from it, then finishes and idles on", () => {
    const p = playout();
    const p0 = 10 * SPF;
    const id = utterance(p, 5, p0);
    const ticks = Array.from({ length: 12 }, () => p.tick());
    const speech = ticks.filter((t) => t.show.kind === "speech");
    expect(speech.map((t) => (t.show as { pts: number }).pts)).toEqual([0, 1, 2, 3, 4].map((j) => p0 + j * SPF));
    expect(speech.map((t) => (t.show as { frame: string }).frame)).toEqual(["f0", "f1", "f2", "f3", "f4"]);
    // The audio queued LEAD ticks before each speech frame is that frame's slot of the utterance.
    const queued = ticks.flatMap((t) => t.audio);
    const firstSpeech = ticks.findIndex((t) => t.show.kind === "speech");
    for (let j = 0; j < 5; j++) expect(queued[firstSpeech + j]).toEqual(ramp(SLOT, j * SLOT));
    const ev = events(ticks);
    expect(ev).toEqual([
      { type: "started", segment: id, at: firstSpeech },
      { type: "finished", segment: id, position: (5 * SLOT) / RATE, interrupted: false, at: firstSpeech + 5 },
    ]);
    // Idle resumes on the walk where speech left it.
    const after = ticks[firstSpeech + 5]!.show;
    expect(after).toEqual({ kind: "idle", sourceIndex: idleIndex(15, 10) });
    expect(p.pendingSegments).toBe(0);
  });

  it("waits for the first startFrames frames before starting", () => {
    const p = playout({ startFrames: 3 });
    utterance(p, 6, 20 * SPF, 2);
    const before = Array.from({ length: 4 }, () => p.tick());
    expect(before.every((t) => t.show.kind === "idle")).toBe(true);
    p.frame(22 * SPF, "f2");
    const ticks = Array.from({ length: 5 }, () => p.tick());
    expect(ticks.some((t) => t.show.kind === "speech")).toBe(true);
  });

  it("keeps the last frame up when a frame is missing or dropped, and discards one that comes after its slot", () => {
    const p = playout();
    const id = p.startSegment();
    p.pushAudio(id, ramp(4 * SLOT));
    p.endAudio(id);
    p.takeFeed(Number.POSITIVE_INFINITY);
    p.speechStarted(0);
    p.frame(0, "f0");
    p.dropped(SPF, 2 * SPF);
    p.frame(3 * SPF, "f3");
    const shows = Array.from({ length: 8 }, () => p.tick().show);
    const kinds = shows.map((s) => (s.kind === "speech" ? s.frame : s.kind));
    const start = kinds.indexOf("f0");
    expect(kinds.slice(start, start + 4)).toEqual(["f0", "hold", "hold", "f3"]);
    p.frame(2 * SPF, "late");
    expect(Array.from({ length: 4 }, () => p.tick().show.kind)).not.toContain("speech");
  });

  it("holds the picture and queues silence while the stream is slower than real time", () => {
    const p = playout();
    const id = p.startSegment();
    p.pushAudio(id, ramp(2 * SLOT));
    p.takeFeed(Number.POSITIVE_INFINITY);
    p.speechStarted(0);
    for (let j = 0; j < 4; j++) p.frame(j * SPF, `f${j}`);
    const ticks = Array.from({ length: 6 }, () => p.tick());
    const speechAt = ticks.findIndex((t) => t.show.kind === "speech");
    expect(ticks.slice(speechAt, speechAt + 2).map((t) => t.show.kind)).toEqual(["speech", "speech"]);
    const stalled = ticks.slice(speechAt + 2);
    expect(stalled.every((t) => t.show.kind === "hold")).toBe(true);
    expect(ticks.flatMap((t) => t.audio).slice(speechAt + 2).every((a) => a.every((x) => x === 0))).toBe(true);
    p.pushAudio(id, ramp(2 * SLOT, 2 * SLOT));
    p.endAudio(id);
    const more = Array.from({ length: 6 }, () => p.tick());
    expect(more.filter((t) => t.show.kind === "speech").map((t) => (t.show as { frame: string }).frame)).toEqual(["f2", "f3"]);
    expect(events(more).map((e) => e.type)).toEqual(["finished"]);
  });

  it("barge-in: reports the part shown, drops the undisplayed slots and queued utterances, and is idle at the next slot", () => {
    const p = playout();
    const id = utterance(p, 50, 0);
    utterance(p, 10, 50 * SPF);
    const ticks = Array.from({ length: 10 }, () => p.tick());
    const shownSpeech = ticks.filter((t) => t.show.kind === "speech").length;
    expect(shownSpeech).toBeGreaterThan(3);
    const finished = p.clear() as Extract<PlayoutEvent, { type: "finished" }>;
    expect(finished).toEqual({ type: "finished", segment: id, position: (shownSpeech * SLOT) / RATE, interrupted: true });
    const next = p.tick();
    expect(next.show.kind).toBe("idle");
    // The slots decided before the clear are decided again: silence.
    expect(next.audio).toHaveLength(LEAD + 1);
    expect(next.audio.every((a) => a.every((x) => x === 0))).toBe(true);
    expect(p.pendingSegments).toBe(0);
    expect(Array.from({ length: 80 }, () => p.tick()).every((t) => t.show.kind === "idle" && t.events.length === 0)).toBe(true);
    expect(p.clear()).toBeUndefined();
  });

  it("plays two utterances back to back without a gap", () => {
    const p = playout();
    const a = utterance(p, 3, 0);
    const b = utterance(p, 3, 3 * SPF);
    const ticks = Array.from({ length: 10 }, () => p.tick());
    const kinds = ticks.map((t) => t.show.kind);
    const s = kinds.indexOf("speech");
    expect(kinds.slice(s, s + 6)).toEqual(Array(6).fill("speech"));
    expect(events(ticks).map((e) => [e.type, e.segment, e.at - s])).toEqual([["started", a, 0], ["finished", a, 3], ["started", b, 3], ["finished", b, 6]]);
  });

  it("finishes a stream that carried no audio at once, and never feeds it to the session", () => {
    const p = playout();
    const id = p.startSegment();
    p.endAudio(id);
    expect(p.takeFeed(Number.POSITIVE_INFINITY)).toEqual([]);
    expect(p.tick().events).toEqual([{ type: "finished", segment: id, position: 0, interrupted: false }]);
  });

  it("feeds the session at most the given audio ahead of what has played, one utterance after the other", () => {
    const p = playout();
    const a = p.startSegment();
    p.pushAudio(a, ramp(10 * SLOT));
    const b = p.startSegment();
    p.pushAudio(b, ramp(SLOT));
    p.endAudio(b);
    const first = p.takeFeed(3 * SLOT);
    expect(first).toEqual([{ segment: a, samples: ramp(3 * SLOT) }]);
    expect(p.takeFeed(3 * SLOT)).toEqual([]);
    p.speechStarted(0);
    p.frame(0, "f0");
    p.tick();
    p.tick();
    // Two slots decided at the first tick's lead plus one: room for more.
    const more = p.takeFeed(3 * SLOT);
    expect(more.every((f) => f.segment === a)).toBe(true);
    p.endAudio(a);
    const rest = p.takeFeed(Number.POSITIVE_INFINITY);
    expect(rest.map((f) => ("end" in f ? `${f.segment}:end` : `${f.segment}:${f.samples.length}`))).toEqual([
      `${a}:${10 * SLOT - 3 * SLOT - (more[0] && "samples" in more[0] ? more[0].samples.length : 0)}`, `${a}:end`, `${b}:${SLOT}`, `${b}:end`,
    ]);
  });

  it("after a stall passes over the slots whose audio played meanwhile, keeping their events and the utterance's position", () => {
    const p = playout();
    const id = utterance(p, 20, 0);
    const first = p.tick();
    expect(first.show.kind).toBe("speech");
    const skipped = p.skipDecided();
    expect(skipped).toEqual([]);
    const next = p.tick();
    // Slots 1 and 2 were decided (their audio queued) before the stall: the picture goes to slot 3.
    expect(next.show).toEqual({ kind: "speech", pts: 3 * SPF, frame: "f3" });
    expect(next.audio).toHaveLength(LEAD + 1);
    expect(p.clear()).toEqual({ type: "finished", segment: id, position: (4 * SLOT) / RATE, interrupted: true });
  });
});

