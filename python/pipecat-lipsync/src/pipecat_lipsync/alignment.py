"""Which audio goes out with which video frame: the bookkeeping of LipSyncVideoService, Sans-I/O.

The service sends TTS audio to the lipsync server and gets frames back stamped with pts on the
16 kHz session clock; this class hands back, for every speech frame, the slice of the audio that
frame shows (at the rate the audio was sent), so picture and sound leave the service together and
the audio out is exactly the audio in. No gRPC, no Pipecat, no time: events in, bytes out.

Frame k of an utterance starting at pts S (pts = S + k * spf) shows input samples
[round(k * spf * rate / 16000), round((k + 1) * spf * rate / 16000)); whatever no frame carried
(a rounding sample at the end) goes out with SpeechEnded. Utterances follow each other in the order they were sent, and the server announces each
with SpeechStarted only after the previous one's SpeechEnded.

A barge-in (`clear`) cancels every utterance sent so far; speech frames still on the wire are
dropped until the server's SpeechEnded(interrupted) (or, when they all ended naturally first,
their last SpeechEnded) says none can follow.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

CLOCK_RATE = 16000


@dataclass
class Utterance:
    """Audio of one TTS segment, as sent to the server (s16 mono at the session rate)."""

    audio: bytearray = field(default_factory=bytearray)
    start_pts: int | None = None
    ended: bool = False
    """No more audio will be appended (the service sent EndOfSpeech)."""
    emitted_samples: int = 0
    """Input samples already handed out with frames."""


class SpeechAligner:
    def __init__(self, sample_rate: int, samples_per_frame: int) -> None:
        self.rate = sample_rate
        self.spf = samples_per_frame
        self._live: deque[Utterance] = deque()
        self._cancelled: deque[Utterance] = deque()

    @property
    def open(self) -> Utterance | None:
        """The utterance audio is appended to, if one is open."""
        last = self._live[-1] if self._live else None
        return last if last is not None and not last.ended else None

    @property
    def pending(self) -> bool:
        """True while any utterance sent has not been answered by SpeechEnded."""
        return bool(self._live or self._cancelled)

    @property
    def dropping(self) -> bool:
        return bool(self._cancelled)

    def push_audio(self, pcm: bytes) -> bool:
        """Audio of the current utterance; True when it opens a new one."""
        u = self.open
        opened = u is None
        if u is None:
            u = Utterance()
            self._live.append(u)
        u.audio += pcm
        return opened

    def end(self) -> bool:
        """The open utterance is complete; False when none was open (nothing to send)."""
        u = self.open
        if u is None:
            return False
        u.ended = True
        return True

    def clear(self) -> bool:
        """Barge-in; True when there was speech to cut (the server must be told)."""
        if not self._live:
            return False
        self._cancelled.extend(self._live)
        self._live.clear()
        return True

    def speech_started(self, pts: int) -> None:
        queue = self._cancelled if self._cancelled else self._live
        for u in queue:
            if u.start_pts is None:
                u.start_pts = pts
                return

    def speech_ended(self, interrupted: bool) -> tuple[Utterance | None, bytes]:
        """The server finished an utterance: it, and any of its audio no frame carried (none
        unless frames were lost), or (None, b"") for a cancelled one."""
        if self._cancelled:
            self._cancelled.popleft()
            if interrupted:
                self._cancelled.clear()
            return None, b""
        if not self._live:
            return None, b""
        u = self._live.popleft()
        rest = bytes(u.audio[u.emitted_samples * 2:]) if not interrupted else b""
        u.emitted_samples = len(u.audio) // 2
        return u, rest

    def speech_frame(self, pts: int) -> bytes | None:
        """The audio a speech frame shows, or None when the frame belongs to cancelled speech
        (or to nothing this side sent) and must not be shown."""
        if self._cancelled or not self._live:
            return None
        u = self._live[0]
        if u.start_pts is None or pts < u.start_pts:
            return None
        k = (pts - u.start_pts) // self.spf
        total = len(u.audio) // 2
        start = max(self._sample(k), u.emitted_samples)
        end = min(self._sample(k + 1), total)
        if end <= start:
            return b""
        u.emitted_samples = end
        return bytes(u.audio[start * 2:end * 2])

    def _sample(self, k: int) -> int:
        """Input-rate sample where frame k of an utterance begins."""
        return round(k * self.spf * self.rate / CLOCK_RATE)

    def frames_dropped(self, start_pts: int, end_pts: int) -> list[bytes]:
        """The audio of speech frames the server dropped unrendered, one slice per frame: it
        still plays (with the last picture held) so the speech is not cut."""
        return [a for pts in range(start_pts, end_pts, self.spf) if (a := self.speech_frame(pts))]
