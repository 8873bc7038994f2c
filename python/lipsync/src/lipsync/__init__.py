"""lipsync: a typed asyncio client of a lipsync server (real-time audio-driven lip sync).

    from lipsync import LipSyncClient

    async with LipSyncClient("http://127.0.0.1:8080") as client:
        async with client.speak("demo", sample_rate=16000) as s:
            await s.push_audio(pcm16)
            await s.end()
            async for event in s:
                ...

The generated stubs are ``lipsync.v1.lipsync_pb2`` and ``lipsync.v1.lipsync_pb2_grpc``.
"""
from .client import LipSyncClient, parse_target
from .errors import LipSyncError
from .events import (
    CLOCK_RATE,
    FramesDropped,
    PlaybackFinished,
    SpeakEvent,
    SpeechEnded,
    SpeechStarted,
    Started,
    VideoFrame,
)
from .speak import SpeakStream
from .version import __version__

__all__ = [
    "CLOCK_RATE",
    "FramesDropped",
    "LipSyncClient",
    "LipSyncError",
    "PlaybackFinished",
    "SpeakEvent",
    "SpeakStream",
    "SpeechEnded",
    "SpeechStarted",
    "Started",
    "VideoFrame",
    "__version__",
    "parse_target",
]
