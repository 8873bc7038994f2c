"""Typed events of a Speak / SpeakAudio stream, converted from the wire messages.

Time is the session clock: samples at CLOCK_RATE (16 kHz) from the session start. One video
frame spans ``samples_per_frame`` samples (640 at 25 fps); a frame's ``pts`` is the first sample
it shows, so audio sample ``n`` of an utterance starting at ``start_pts`` is shown by the frame
with ``pts == start_pts + (n // samples_per_frame) * samples_per_frame``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from .v1 import lipsync_pb2 as pb

CLOCK_RATE = 16000
"""Samples per second of the session clock (pts units)."""

ImageFormatName = Literal["jpeg", "rgb", "rgba", "i420"]
IMAGE_FORMATS: dict[str, int] = {
    "jpeg": pb.IMAGE_FORMAT_JPEG,
    "rgb": pb.IMAGE_FORMAT_RGB,
    "rgba": pb.IMAGE_FORMAT_RGBA,
    "i420": pb.IMAGE_FORMAT_I420,
}
_FORMAT_NAMES = {v: k for k, v in IMAGE_FORMATS.items()}
_FORMAT_NAMES[pb.IMAGE_FORMAT_UNSPECIFIED] = "jpeg"


@dataclass(frozen=True, slots=True)
class Started:
    """The server accepted the session (first event)."""

    session_id: str
    avatar: pb.AvatarInfo
    samples_per_frame: int
    clock_rate: int

    @property
    def fps(self) -> float:
        return self.clock_rate / self.samples_per_frame


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One video frame. ``image`` is in ``format``: JPEG bytes, or raw rows (``rgb``: 3 bytes per
    pixel, ``rgba``: 4, ``i420``: planar Y, U, V). With ``patch`` only the mouth region, to be pasted
    at ``mouth_box`` over source frame ``source_index``."""

    pts: int
    kind: Literal["speech", "idle"]
    image: bytes
    format: ImageFormatName
    width: int
    height: int
    source_index: int
    patch: bool
    mouth_box: tuple[int, int, int, int] | None
    """(x, y, width, height) of the generated mouth in frame pixels; None on idle frames."""
    timings: pb.StageTimings


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """An utterance begins; its first frame has this pts."""

    pts: int


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """Every frame of the utterance was sent (or a clear cut it short: ``interrupted``)."""

    start_pts: int
    end_pts: int
    interrupted: bool


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """The utterance has played out: ``position`` samples of it were played."""

    position: int
    interrupted: bool


@dataclass(frozen=True, slots=True)
class FramesDropped:
    """Speech frames in [start_pts, end_pts) were dropped unrendered (overloaded server): keep
    showing the last frame for those pts."""

    start_pts: int
    end_pts: int


SpeakEvent = Union[Started, VideoFrame, SpeechStarted, SpeechEnded, PlaybackFinished, FramesDropped]


def frame_from_pb(f: pb.Frame) -> VideoFrame:
    box = f.mouth_box
    return VideoFrame(
        pts=f.pts,
        kind="speech" if f.kind == pb.FRAME_KIND_SPEECH else "idle",
        image=f.image,
        format=_FORMAT_NAMES.get(f.format, "jpeg"),  # type: ignore[arg-type]
        width=f.width,
        height=f.height,
        source_index=f.source_index,
        patch=f.patch,
        mouth_box=(box.x, box.y, box.width, box.height) if f.HasField("mouth_box") and box.width else None,
        timings=f.timings,
    )


def event_from_pb(m: pb.SpeakResponse | pb.SpeakAudioResponse) -> SpeakEvent | None:
    """The event a wire message carries; None for a message kind this client does not know."""
    kind = m.WhichOneof("message")
    if kind == "frame":
        return frame_from_pb(m.frame)
    if kind == "started":
        s = m.started
        return Started(session_id=s.session_id, avatar=s.avatar, samples_per_frame=s.samples_per_frame, clock_rate=s.clock_rate)
    if kind == "speech_started":
        return SpeechStarted(pts=m.speech_started.pts)
    if kind == "speech_ended":
        e = m.speech_ended
        return SpeechEnded(start_pts=e.start_pts, end_pts=e.end_pts, interrupted=e.interrupted)
    if kind == "playback_finished":
        p = m.playback_finished
        return PlaybackFinished(position=p.position, interrupted=p.interrupted)
    if kind == "frames_dropped":
        d = m.frames_dropped
        return FramesDropped(start_pts=d.start_pts, end_pts=d.end_pts)
    return None
