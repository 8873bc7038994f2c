"""LipSyncClient against a real lipsync server on loopback (the repository's build)."""
from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys

import pytest

from conftest import HELDOUT, start_server, stop_server
from lipsync import LipSyncClient, LipSyncError, PlaybackFinished, SpeechEnded, SpeechStarted, Started, VideoFrame, parse_target

SPF = 640  # samples per frame of the demo avatar (25 fps on the 16 kHz clock)


def frames_for(pcm: bytes, rate: int) -> int:
    return math.ceil(math.ceil(len(pcm) // 2 * 16000 / rate) / SPF)


async def test_lists_and_describes_the_demo_avatar(lipsync_server):
    async with LipSyncClient(lipsync_server.url) as client:
        avatars = await client.list_avatars()
        assert "demo" in [a.name for a in avatars]
        demo = (await client.get_avatar("demo")).avatar
        assert demo.loaded and demo.fps == 25 and demo.width > 0 and demo.height > 0


async def test_an_unknown_avatar_is_not_found_and_names_the_known_ones(lipsync_server):
    async with LipSyncClient(lipsync_server.url) as client:
        with pytest.raises(LipSyncError) as info:
            await client.get_avatar("nobody")
        assert info.value.code == "not_found" and not info.value.retryable
        assert "demo" in info.value.message


async def test_render_frame_in_jpeg_and_raw_rgb(lipsync_server):
    async with LipSyncClient(lipsync_server.url) as client:
        jpeg = await client.render_frame("demo", 40)
        rgb = await client.render_frame("demo", 40, image_format="rgb")
    assert jpeg.format == "jpeg" and jpeg.image[:2] == b"\xff\xd8"
    assert rgb.format == "rgb" and len(rgb.image) == rgb.width * rgb.height * 3
    assert (rgb.width, rgb.height) == (jpeg.width, jpeg.height)
    assert rgb.pts == 40 * SPF


async def test_speak_streams_an_utterance_and_every_frame_comes_back_on_the_clock(lipsync_server, speech):
    pcm, rate = speech
    chunk = rate // 50 * 2  # 20 ms, as a TTS would produce
    async with LipSyncClient(lipsync_server.url) as client:
        async with client.speak("demo", sample_rate=rate) as s:
            assert isinstance(s.started, Started) and s.started.samples_per_frame == SPF and s.started.fps == 25
            for i in range(0, len(pcm), chunk):
                await s.push_audio(pcm[i:i + chunk])
            await s.end()
            frames: list[VideoFrame] = []
            started = ended = finished = None
            while finished is None:
                event = await s.next_event(timeout=30)
                assert event is not None, "the stream ended before playback finished"
                if isinstance(event, VideoFrame) and event.kind == "speech":
                    frames.append(event)
                elif isinstance(event, SpeechStarted):
                    started = event
                elif isinstance(event, SpeechEnded):
                    ended = event
                elif isinstance(event, PlaybackFinished):
                    finished = event
    assert len(frames) == frames_for(pcm, rate)
    assert started is not None and frames[0].pts == started.pts
    assert [f.pts for f in frames] == [started.pts + i * SPF for i in range(len(frames))]
    assert ended is not None and not ended.interrupted and ended.end_pts - ended.start_pts == len(frames) * SPF
    assert not finished.interrupted
    assert all(f.image[:2] == b"\xff\xd8" and f.mouth_box is not None for f in frames)


async def test_clear_is_a_barge_in_answered_with_interrupted_playback(lipsync_server, speech):
    pcm, rate = speech
    async with LipSyncClient(lipsync_server.url) as client:
        async with client.speak("demo", sample_rate=rate, image_format="rgb") as s:
            await s.push_audio(pcm)  # no end: the utterance is still open when the clear comes
            speech_frames = 0
            while speech_frames < 3:
                event = await s.next_event(timeout=30)
                if isinstance(event, VideoFrame) and event.kind == "speech":
                    speech_frames += 1
                    assert len(event.image) == event.width * event.height * 3
            await s.clear()
            ended = finished = None
            while finished is None:
                event = await s.next_event(timeout=10)
                assert event is not None
                if isinstance(event, SpeechEnded):
                    ended = event
                elif isinstance(event, PlaybackFinished):
                    finished = event
    assert ended is not None and ended.interrupted
    assert finished.interrupted
    assert (ended.end_pts - ended.start_pts) // SPF < frames_for(pcm, rate), "the clear did not cut the utterance"


async def test_speak_audio_renders_a_wav_file(lipsync_server, speech):
    pcm, rate = speech
    with open(os.path.join(HELDOUT, "gate-0.wav"), "rb") as f:
        wav = f.read()
    async with LipSyncClient(lipsync_server.url) as client:
        events = [e async for e in client.speak_audio("demo", wav)]
    assert isinstance(events[0], Started)
    assert sum(isinstance(e, VideoFrame) and e.kind == "speech" for e in events) == frames_for(pcm, rate)
    assert isinstance(events[-1], SpeechEnded)


async def test_speak_with_an_unknown_avatar_fails_at_start(lipsync_server):
    async with LipSyncClient(lipsync_server.url) as client:
        with pytest.raises(LipSyncError) as info:
            async with client.speak("nobody", sample_rate=16000):
                pass
    assert info.value.code == "not_found"


async def test_push_audio_refuses_a_partial_sample(lipsync_server):
    async with LipSyncClient(lipsync_server.url) as client:
        async with client.speak("demo", sample_rate=16000) as s:
            with pytest.raises(ValueError):
                await s.push_audio(b"\x00\x01\x02")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_an_unreachable_server_is_a_retryable_unavailable_error_quickly():
    async with LipSyncClient(f"http://127.0.0.1:{free_port()}", timeout=5) as client:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(LipSyncError) as info:
            await client.list_avatars()
        assert loop.time() - t0 < 5
    assert info.value.code == "unavailable" and info.value.retryable
    assert "127.0.0.1" in info.value.message


@pytest.fixture(scope="module")
def one_session_server():
    server = start_server("--capacity", "1")
    yield server
    stop_server(server)


async def test_a_session_past_capacity_is_refused_as_retryable(one_session_server):
    async with LipSyncClient(one_session_server.url) as client:
        async with client.speak("demo", sample_rate=16000):
            with pytest.raises(LipSyncError) as info:
                async with client.speak("demo", sample_rate=16000):
                    pass
        assert info.value.code == "resource_exhausted" and info.value.retryable
        # The first session's end frees its slot.
        async def admitted() -> bool:
            try:
                async with client.speak("demo", sample_rate=16000):
                    return True
            except LipSyncError as e:
                if e.code != "resource_exhausted":
                    raise
                return False
        for _ in range(50):
            if await admitted():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("a session was still refused 5 s after the first one closed")


def test_parse_target():
    assert parse_target("http://127.0.0.1:8080") == ("127.0.0.1:8080", False)
    assert parse_target("https://lipsync.example.com") == ("lipsync.example.com:443", True)
    assert parse_target("localhost:9000") == ("localhost:9000", False)
    assert parse_target("http://[::1]:8080") == ("[::1]:8080", False)
    with pytest.raises(ValueError):
        parse_target("ftp://x")


def test_the_committed_stubs_match_the_proto():
    generate = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "generate.py")
    r = subprocess.run([sys.executable, generate, "--check"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
