"""LipSyncVideoService in real Pipecat pipelines against a real lipsync server on loopback."""
from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys

import pytest
from pipecat.frames.frames import EndWorkerFrame, ErrorFrame, Frame, StartFrame, TTSAudioRawFrame, TTSStoppedFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.task import PipelineParams
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from conftest import HELDOUT, REPO, start_server, stop_server
from lipsync import LipSyncClient
from pipecat_lipsync import LipSyncVideoService

EXAMPLE = os.path.join(REPO, "examples", "pipecat", "pipeline.py")


def frames_for(n_bytes: int) -> int:
    return math.ceil(n_bytes // 2 / 640)  # 16 kHz recordings, 640 samples a frame


def test_the_example_pipeline_lip_syncs_speech_and_an_interruption_cuts_it(lipsync_server):
    wavs = [os.path.join(HELDOUT, "gate-0.wav"), os.path.join(HELDOUT, "gate-1.wav")]
    r = subprocess.run([sys.executable, EXAMPLE, lipsync_server.url, *wavs], capture_output=True, text=True, timeout=150, cwd=REPO)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # The first utterance: one image per 40 ms of speech, and exactly the audio that went in.
    assert out["first_identical"] and out["first_out"] == out["first_in"]
    assert out["audio_without_image"] == 0, "every speech audio slice follows its image"
    # The second: cut about a second in, nothing of it after the interruption, idle again.
    assert 0 < out["second_out"] < out["second_in"] - 16000 * 2
    assert out["audio_after_interruption"] == 0
    assert out["speech_images"] == frames_for(out["first_in"]) + frames_for(out["second_out"])
    assert out["idle_images"] >= 5 + 25
    assert out["stops"] == 1


class Catcher(FrameProcessor):
    """First in the pipeline: keeps the errors pushed upstream."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[ErrorFrame] = []
        self.got_error = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, ErrorFrame):
            self.errors.append(frame)
            self.got_error.set()
        await self.push_frame(frame, direction)


class Speaker(FrameProcessor):
    """Sends one short utterance once the pipeline started, then waits for the test to end it."""

    def __init__(self, pcm: bytes) -> None:
        super().__init__()
        self.pcm = pcm

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(TTSAudioRawFrame(audio=self.pcm, sample_rate=16000, num_channels=1))
            await self.push_frame(TTSStoppedFrame())


class AudioSink(FrameProcessor):
    def __init__(self) -> None:
        super().__init__()
        self.audio = bytearray()
        self.stopped = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            self.audio += frame.audio
        if isinstance(frame, TTSStoppedFrame):
            self.stopped.set()
        await self.push_frame(frame, direction)


async def run_failing(service: LipSyncVideoService) -> tuple[Catcher, AudioSink]:
    """Runs catcher -> speaker -> service -> sink until the error and the audio came through."""
    catcher, sink = Catcher(), AudioSink()
    speaker = Speaker(b"\x01\x00" * 8000)
    worker = PipelineWorker(Pipeline([catcher, speaker, service, sink]), params=PipelineParams(audio_out_sample_rate=16000),
                            enable_rtvi=False, idle_timeout_secs=None)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.ensure_future(runner.run())
    try:
        await asyncio.wait_for(catcher.got_error.wait(), 20)
        await asyncio.wait_for(sink.stopped.wait(), 20)
    finally:
        await worker.queue_frame(EndWorkerFrame())
        await asyncio.wait_for(run, 30)
    return catcher, sink


async def test_an_unreachable_server_is_a_clear_error_and_the_voice_passes_through():
    service = LipSyncVideoService(server_url="http://127.0.0.1:9", timeout=5)
    catcher, sink = await run_failing(service)
    message = catcher.errors[0].error
    assert "unavailable" in message and "127.0.0.1:9" in message and "retryable" in message
    assert len(sink.audio) == 16000, "without a session the TTS audio still plays"


async def test_an_unknown_avatar_is_a_clear_error(lipsync_server):
    catcher, _ = await run_failing(LipSyncVideoService(server_url=lipsync_server.url, avatar="nobody"))
    message = catcher.errors[0].error
    assert "not_found" in message and "demo" in message and "retryable" not in message


@pytest.fixture(scope="module")
def full_server():
    server = start_server("--capacity", "1")
    yield server
    stop_server(server)


async def test_a_session_refused_for_capacity_is_a_retryable_error(full_server):
    async with LipSyncClient(full_server.url) as client:
        async with client.speak("demo", sample_rate=16000):  # takes the only slot
            catcher, _ = await run_failing(LipSyncVideoService(server_url=full_server.url))
    message = catcher.errors[0].error
    assert "resource_exhausted" in message and "retryable" in message
