"""A Pipecat pipeline with a lip-synced avatar from a lipsync server, no cloud service needed:
a WAV-driven TTS stand-in -> LipSyncVideoService -> a sink that counts what a transport would play.

    .venv/bin/python examples/pipecat/pipeline.py http://127.0.0.1:8080 \
        models/heldout/gate-0.wav models/heldout/gate-1.wav

The stand-in speaks the first file whole, then starts the second and interrupts it (a barge-in)
about a second into its playback. Prints one JSON line: frames, audio in and out, the cut.
In a real bot the same service sits between the TTS and the transport's output:

    Pipeline([transport.input(), stt, llm, tts, LipSyncVideoService(...), transport.output()])
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import wave

from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    InterruptionFrame,
    OutputImageRawFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.task import PipelineParams
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from pipecat_lipsync import LipSyncVideoService

CHUNK_SECONDS = 0.02
TIMEOUT = 30.0


def read_wav(path: str) -> tuple[bytes, int]:
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"{path}: expected 16-bit mono (ffmpeg -i IN -ac 1 -c:a pcm_s16le OUT.wav)")
        return w.readframes(w.getnframes()), w.getframerate()


class Sink(FrameProcessor):
    """Stands for transport.output(): records images and audio in the order they arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.images = {"speech": 0, "idle": 0}
        self.utterance_audio: list[bytearray] = [bytearray()]
        self.audio_after_interruption = 0
        self.interrupted = False
        self.stops = 0
        self.first_speech_image_at: float | None = None
        self.first_speech_audio_at: float | None = None
        self.audio_before_image = 0
        self.changed = asyncio.Event()
        self._image_pending = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, OutputImageRawFrame):
            kind = frame.metadata.get("lipsync_kind", "idle")
            self.images[kind] += 1
            assert len(frame.image) == frame.size[0] * frame.size[1] * 3 and frame.format == "RGB"
            if kind == "speech":
                self._image_pending = True
                self.first_speech_image_at = self.first_speech_image_at or time.monotonic()
        elif isinstance(frame, TTSAudioRawFrame):
            if not self._image_pending:
                self.audio_before_image += 1  # audio that no picture announced: out of sync
            self._image_pending = False
            self.first_speech_audio_at = self.first_speech_audio_at or time.monotonic()
            self.utterance_audio[-1] += frame.audio
            if self.interrupted:
                self.audio_after_interruption += len(frame.audio)
        elif isinstance(frame, TTSStoppedFrame):
            self.stops += 1
            self.utterance_audio.append(bytearray())
        elif isinstance(frame, InterruptionFrame):
            self.interrupted = True
        self.changed.set()
        await self.push_frame(frame, direction)

    async def wait_for(self, predicate, what: str) -> None:
        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()
        try:
            await asyncio.wait_for(loop(), TIMEOUT)
        except asyncio.TimeoutError:
            raise TimeoutError(f"timed out after {TIMEOUT:g} s waiting for {what}") from None


class WavTTS(FrameProcessor):
    """A TTS stand-in: speaks WAV files as TTSStartedFrame, 20 ms TTSAudioRawFrames (faster
    than real time, as TTS engines produce them) and TTSStoppedFrame."""

    def __init__(self, files: list[str], sink: Sink, result: dict) -> None:
        super().__init__()
        self._files = files
        self._sink = sink
        self._result = result

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.create_task(self._script())

    async def _speak(self, pcm: bytes, rate: int) -> None:
        await self.push_frame(TTSStartedFrame())
        step = int(rate * CHUNK_SECONDS) * 2
        for i in range(0, len(pcm), step):
            await self.push_frame(TTSAudioRawFrame(audio=pcm[i:i + step], sample_rate=rate, num_channels=1))
        await self.push_frame(TTSStoppedFrame())

    async def _script(self) -> None:
        try:
            await self._play()
        except Exception as e:  # the pipeline ends either way; the caller reports the failure
            self._result["error"] = str(e)
        await self.push_frame(EndWorkerFrame())

    async def _play(self) -> None:
        sink = self._sink
        await sink.wait_for(lambda: sink.images["idle"] >= 5, "the idle loop before speech")
        first, rate = read_wav(self._files[0])
        await self._speak(first, rate)
        await sink.wait_for(lambda: sink.stops >= 1, "the first utterance to play out")
        self._result["first_in"] = len(first)
        self._result["first_out"] = len(sink.utterance_audio[0])
        self._result["first_identical"] = bytes(sink.utterance_audio[0]) == first
        self._result["av_skew_ms"] = round(((sink.first_speech_audio_at or 0) - (sink.first_speech_image_at or 0)) * 1000, 1)
        if len(self._files) > 1:
            second, rate2 = read_wav(self._files[1])
            speech_before = sink.images["speech"]
            await self._speak(second, rate2)
            await sink.wait_for(lambda: sink.images["speech"] >= speech_before + 25, "a second of the second utterance")
            await self.push_frame(InterruptionFrame())
            idle_at_cut = sink.images["idle"]
            await sink.wait_for(lambda: sink.images["idle"] >= idle_at_cut + 25, "a second of idle frames after the barge-in")
            self._result["second_in"] = len(second)
            self._result["second_out"] = len(sink.utterance_audio[1])
            self._result["audio_after_interruption"] = sink.audio_after_interruption


async def run(server_url: str, files: list[str], **service_options) -> dict:
    _, rate = read_wav(files[0])
    result: dict = {}
    sink = Sink()
    avatar = LipSyncVideoService(server_url=server_url, avatar="demo", **service_options)
    worker = PipelineWorker(Pipeline([WavTTS(files, sink, result), avatar, sink]),
                            params=PipelineParams(audio_out_sample_rate=rate), enable_rtvi=False, idle_timeout_secs=None)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.wait_for(runner.run(), 120)
    result.update(speech_images=sink.images["speech"], idle_images=sink.images["idle"],
                  audio_without_image=sink.audio_before_image, stops=sink.stops)
    return result


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    wavs = sys.argv[2:] or ["models/heldout/gate-0.wav", "models/heldout/gate-1.wav"]
    # LIPSYNC_IMAGE_FORMAT=jpeg: frames as JPEG, decoded in this process (docs/pipecat.md compares).
    out = asyncio.run(run(url, wavs, image_format=os.getenv("LIPSYNC_IMAGE_FORMAT", "rgb")))
    print(json.dumps(out))
    sys.exit(1 if "error" in out else 0)
