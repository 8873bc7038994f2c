"""A live Speak session over gRPC: push audio as it is produced, read frames and events back.

Reading and writing may happen from different tasks (grpc.aio allows one reader and one writer
at a time). Every wait that depends on the server has a timeout.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from .errors import LipSyncError, status_name
from .events import SpeakEvent, Started, event_from_pb
from .v1 import lipsync_pb2 as pb

# Chunks past this are split: the server refuses one over 1 MiB (AudioChunk.data).
MAX_CHUNK_BYTES = 1 << 20


class SpeakStream:
    """One ``Speak`` call. Use as ``async with client.speak(...) as s:``, which sends the config
    and waits for :class:`Started` (``s.started``); then :meth:`push_audio`, :meth:`end`,
    :meth:`clear` and ``async for event in s``."""

    def __init__(self, call: Any, config: pb.SpeakConfig, *, target: str, start_timeout: float, bytes_per_frame: int) -> None:
        self._call = call
        self._config = config
        self._target = target
        self._start_timeout = start_timeout
        self._bytes_per_frame = bytes_per_frame
        self._write_lock = asyncio.Lock()
        self._writing_done = False
        self.started: Started | None = None

    async def __aenter__(self) -> "SpeakStream":
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> Started:
        """Sends the config and waits for the server's answer (an error if it refuses: unknown
        avatar ``not_found``, capacity ``resource_exhausted``, ...)."""
        await self._write(pb.SpeakRequest(config=self._config))
        try:
            event = await self.next_event(timeout=self._start_timeout)
        except LipSyncError as e:
            if e.code == "deadline_exceeded":
                raise LipSyncError("deadline_exceeded", f"no answer to the session config within {self._start_timeout:g} s") from e
            raise
        if not isinstance(event, Started):
            raise LipSyncError("internal", f"expected the session to start, got {type(event).__name__}")
        self.started = event
        return event

    async def push_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Audio of the current utterance, in the format given to ``speak()`` (a whole number of
        sample frames). Audio after :meth:`end` starts the next utterance."""
        view = memoryview(data).cast("B")
        if len(view) % self._bytes_per_frame:
            raise ValueError(f"audio must be whole sample frames of {self._bytes_per_frame} bytes, got {len(view)} bytes")
        step = MAX_CHUNK_BYTES - MAX_CHUNK_BYTES % self._bytes_per_frame
        for i in range(0, len(view), step):
            await self._write(pb.SpeakRequest(audio=pb.AudioChunk(data=bytes(view[i:i + step]))))

    async def end(self) -> None:
        """Ends the current utterance: its tail is rendered, then SpeechEnded and PlaybackFinished."""
        await self._write(pb.SpeakRequest(end=pb.EndOfSpeech()))

    async def clear(self) -> None:
        """Barge-in: the server drops queued audio and unrendered frames and returns to idle; it
        answers SpeechEnded and PlaybackFinished with ``interrupted`` when speech was playing."""
        await self._write(pb.SpeakRequest(clear=pb.Clear()))

    async def playback_position(self, pts: int) -> None:
        """Tells the server which pts the player presents now (PlaybackFinished waits for it)."""
        await self._write(pb.SpeakRequest(playback_position=pb.PlaybackPosition(pts=pts)))

    async def next_event(self, timeout: float | None = None) -> SpeakEvent | None:
        """The next event, or None when the server ended the stream. ``timeout`` (seconds) raises
        ``deadline_exceeded`` when nothing arrives in time."""
        while True:
            try:
                read = self._call.read()
                message = await (asyncio.wait_for(read, timeout) if timeout is not None else read)
            except asyncio.TimeoutError:
                raise LipSyncError("deadline_exceeded", f"no event from the lipsync server within {timeout:g} s") from None
            except grpc.RpcError as e:
                raise LipSyncError.from_rpc(e, self._target) from None
            if message is grpc.aio.EOF:
                return None
            event = event_from_pb(message)
            if event is not None:
                return event

    def __aiter__(self) -> AsyncIterator[SpeakEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[SpeakEvent]:
        while (event := await self.next_event()) is not None:
            yield event

    async def finish(self) -> None:
        """Half-closes the stream: the server renders what it has, then ends the call."""
        async with self._write_lock:
            if not self._writing_done:
                self._writing_done = True
                try:
                    await self._call.done_writing()
                except grpc.RpcError:
                    pass

    async def close(self) -> None:
        """Ends the call at once (cancels it if still running). Safe to call twice."""
        self._writing_done = True
        self._call.cancel()

    async def _write(self, request: pb.SpeakRequest) -> None:
        async with self._write_lock:
            if self._writing_done:
                raise LipSyncError("failed_precondition", "the Speak stream is closed")
            try:
                await self._call.write(request)
            except grpc.RpcError as e:
                raise LipSyncError.from_rpc(e, self._target) from None
            except asyncio.InvalidStateError:
                # The call already ended: its status says why.
                try:
                    code = await asyncio.wait_for(self._call.code(), 1.0)
                    details = await asyncio.wait_for(self._call.details(), 1.0)
                except (asyncio.TimeoutError, grpc.RpcError):
                    code, details = grpc.StatusCode.CANCELLED, "the Speak stream ended"
                raise LipSyncError(status_name(code), details or "the Speak stream ended") from None
