"""LipSyncVideoService: a self-hosted lip-synced avatar for Pipecat pipelines, on a lipsync server.

    tts -> LipSyncVideoService(server_url="http://127.0.0.1:8080", avatar="demo") -> transport.output()

It swallows the TTS audio, streams it to the server over gRPC Speak, and pushes downstream, for
every video frame, an OutputImageRawFrame (raw RGB) followed by the slice of the speech audio that
frame shows, as TTSAudioRawFrame: picture and sound leave together, paced in real time by the
server, and the audio out is exactly the audio in. Between utterances the idle loop is streamed.
An InterruptionFrame is a barge-in (the server drops queued speech and returns to idle at once);
TTSStoppedFrame ends the segment and is passed on after its last audio.
"""
from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from loguru import logger
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    OutputImageRawFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessorSetup
from pipecat.services.ai_service import AIService
from pipecat.services.settings import ServiceSettings

from lipsync import FramesDropped, LipSyncClient, LipSyncError, SpeakStream, SpeechEnded, SpeechStarted, VideoFrame

from .alignment import SpeechAligner


@dataclass
class LipSyncVideoSettings(ServiceSettings):
    """Settings of LipSyncVideoService (none are updatable at run time yet)."""


class LipSyncVideoService(AIService):
    """Lip-synced avatar video from a lipsync server, in sync with the speech it plays.

    Args:
        server_url: the lipsync server, ``http://host:port`` (gRPC over cleartext HTTP/2) or
            ``https://``.
        avatar: the avatar's name on that server.
        api_token: a bearer token, when the server requires one.
        image_format: ``rgb`` (raw frames from the server: no decoding here, about 0.8 MB a
            frame at 512 x 512 over the wire) or ``jpeg`` (a tenth of the bytes, decoded here
            with Pillow: for a server across a network).
        continuous: stream the idle loop between utterances (the face stays alive); False sends
            frames only while speaking.
        sync_with_audio: mark images ``sync_with_audio`` so the output transport shows each one
            when the audio before it has been sent (exact lip sync on any transport).
        timeout: seconds to wait for the server to answer (the session start, and each event
            while speech or idle frames are due); past it an error is pushed, never a hang.
    """

    Settings = LipSyncVideoSettings
    _settings: Settings

    def __init__(self, *, server_url: str, avatar: str = "demo", api_token: str | None = None,
                 image_format: Literal["rgb", "jpeg"] = "rgb", continuous: bool = True, sync_with_audio: bool = True,
                 timeout: float = 10.0, **kwargs) -> None:
        super().__init__(settings=LipSyncVideoSettings(model=None), **kwargs)
        if image_format not in ("rgb", "jpeg"):
            raise ValueError(f"image_format must be 'rgb' or 'jpeg', not {image_format!r}")
        self._server_url = server_url
        self._avatar = avatar
        self._token = api_token
        self._image_format = image_format
        self._continuous = continuous
        self._sync_with_audio = sync_with_audio
        self._timeout = timeout
        self._sample_rate = 24000
        self._client: LipSyncClient | None = None
        self._stream: SpeakStream | None = None
        self._aligner: SpeechAligner | None = None
        self._reader: asyncio.Task | None = None
        self._resampler = create_stream_resampler()
        self._held_stops: list[TTSStoppedFrame] = []
        self._last_image: OutputImageRawFrame | None = None
        self._failed = False

    async def setup(self, setup: FrameProcessorSetup) -> None:
        await super().setup(setup)
        self._sample_rate = setup.audio_out_sample_rate

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self._connect()

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._disconnect(graceful=True)

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._disconnect(graceful=False)

    async def cleanup(self) -> None:
        await super().cleanup()
        await self._disconnect(graceful=False)

    async def _connect(self) -> None:
        self._client = LipSyncClient(self._server_url, token=self._token, timeout=self._timeout)
        stream = self._client.speak(self._avatar, sample_rate=self._sample_rate, continuous=self._continuous,
                                    image_format=self._image_format)
        try:
            started = await stream.start()
        except LipSyncError as e:
            await stream.close()
            await self._fail(e, "could not start a lipsync session")
            return
        self._stream = stream
        self._aligner = SpeechAligner(self._sample_rate, started.samples_per_frame)
        self._reader = self.create_task(self._read_events(), name="lipsync-events")
        logger.info(f"{self}: lipsync session started")

    async def _disconnect(self, *, graceful: bool) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            if graceful:
                try:
                    await asyncio.wait_for(stream.finish(), self._timeout)
                except (asyncio.TimeoutError, LipSyncError):
                    pass
            await stream.close()
        if self._reader is not None:
            await self.cancel_task(self._reader)
            self._reader = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _fail(self, error: LipSyncError, what: str) -> None:
        # The pipeline keeps its voice: without a session the TTS audio passes through unchanged.
        self._failed = True
        retry = " (retryable: the server is at capacity or unreachable; try again later)" if error.retryable else ""
        await self.push_error(error_msg=f"{what}: {error.code}: {error.message}{retry}", exception=error)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            if self._stream is None:
                await self.push_frame(frame, direction)
                return
            await self._send_audio(frame)
        elif isinstance(frame, TTSStoppedFrame) and direction == FrameDirection.DOWNSTREAM:
            if self._stream is None or self._aligner is None or not self._aligner.end():
                await self.push_frame(frame, direction)
                return
            self._held_stops.append(frame)
            await self._send(self._stream.end())
        elif isinstance(frame, InterruptionFrame):
            if self._stream is not None and self._aligner is not None and self._aligner.clear():
                self._held_stops.clear()
                await self._send(self._stream.clear())
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)

    async def _send_audio(self, frame: TTSAudioRawFrame) -> None:
        assert self._stream is not None and self._aligner is not None
        audio = frame.audio
        if frame.num_channels != 1:
            samples = np.frombuffer(audio, dtype=np.int16).reshape(-1, frame.num_channels)
            audio = samples.mean(axis=1).astype(np.int16).tobytes()
        if frame.sample_rate != self._sample_rate:
            audio = await self._resampler.resample(audio, frame.sample_rate, self._sample_rate)
        if not audio:
            return
        self._aligner.push_audio(audio)
        await self._send(self._stream.push_audio(audio))

    async def _send(self, write) -> None:
        try:
            await asyncio.wait_for(write, self._timeout)
        except asyncio.TimeoutError:
            await self._fail(LipSyncError("deadline_exceeded", f"the lipsync server did not take audio within {self._timeout:g} s"),
                             "lipsync session stalled")
        except LipSyncError as e:
            await self._fail(e, "lipsync session failed")

    async def _read_events(self) -> None:
        assert self._stream is not None and self._aligner is not None
        stream, aligner = self._stream, self._aligner
        try:
            while True:
                # Idle frames are due every frame in continuous mode; otherwise only speech is.
                timeout = self._timeout if self._continuous or aligner.pending else None
                event = await stream.next_event(timeout=timeout)
                if event is None:
                    return
                await self._on_event(event, aligner)
        except LipSyncError as e:
            if self._stream is stream:
                self._stream = None
                await self._fail(e, "lipsync session ended")

    async def _on_event(self, event, aligner: SpeechAligner) -> None:
        if isinstance(event, VideoFrame):
            if event.kind == "speech":
                audio = aligner.speech_frame(event.pts)
                if audio is None:
                    return  # cancelled speech still on the wire
                await self._push_image(event)
                if audio:
                    await self.push_frame(TTSAudioRawFrame(audio=audio, sample_rate=self._sample_rate, num_channels=1))
            else:
                await self._push_image(event)
        elif isinstance(event, SpeechStarted):
            aligner.speech_started(event.pts)
        elif isinstance(event, SpeechEnded):
            utterance, rest = aligner.speech_ended(event.interrupted)
            if rest:
                await self.push_frame(TTSAudioRawFrame(audio=rest, sample_rate=self._sample_rate, num_channels=1))
            if utterance is not None and self._held_stops:
                await self.push_frame(self._held_stops.pop(0))
        elif isinstance(event, FramesDropped):
            for audio in aligner.frames_dropped(event.start_pts, event.end_pts):
                if self._last_image is not None:
                    await self.push_frame(self._copy_image(self._last_image))
                await self.push_frame(TTSAudioRawFrame(audio=audio, sample_rate=self._sample_rate, num_channels=1))

    async def _push_image(self, frame: VideoFrame) -> None:
        image = frame.image
        if frame.format == "jpeg":
            image = await asyncio.to_thread(_decode_jpeg, image)
        out = OutputImageRawFrame(image=image, size=(frame.width, frame.height), format="RGB")
        out.metadata["lipsync_pts"] = frame.pts
        out.metadata["lipsync_kind"] = frame.kind
        self._last_image = out
        await self.push_frame(self._mark(out))

    def _mark(self, out: OutputImageRawFrame) -> OutputImageRawFrame:
        if self._sync_with_audio:
            out.sync_with_audio = True
        return out

    def _copy_image(self, frame: OutputImageRawFrame) -> OutputImageRawFrame:
        copy = OutputImageRawFrame(image=frame.image, size=frame.size, format=frame.format)
        copy.metadata.update(frame.metadata)
        return self._mark(copy)


def _decode_jpeg(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB").tobytes()
