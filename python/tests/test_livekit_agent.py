"""The LiveKit example end to end, with real components: livekit-server --dev, a lipsync server,
the agent process (livekit-agents + livekit-plugins-lipsync, examples/livekit-agent-python) speaking
recorded speech, and a subscriber (Python `livekit` rtc) receiving the avatar's tracks."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
import wave

import numpy as np
import pytest
from livekit import api, rtc

from conftest import HELDOUT, REPO
from lipsync import LipSyncClient, LipSyncError

AGENT = os.path.join(REPO, "examples", "livekit-agent-python", "agent.py")
AVATAR = "lipsync-avatar"
FPS = 25
WAVS = [os.path.join(HELDOUT, "gate-0.wav"), os.path.join(HELDOUT, "gate-1.wav")]


async def room_sessions_supported(url: str) -> bool:
    async with LipSyncClient(url) as client:
        try:
            await client.start_room_session("demo", "ws://127.0.0.1:9", "not-a-token", timeout=5)
        except LipSyncError as e:
            return e.code != "unimplemented"
    return True


def speech_span(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """First and last sample of 20 ms windows louder than -40 dBFS."""
    win = rate // 50
    n = len(samples) // win
    rms = np.sqrt(np.mean(((samples[:n * win].astype(np.float64) / 32768) ** 2).reshape(n, win), axis=1))
    loud = np.nonzero(rms > 0.01)[0]
    if len(loud) == 0:
        return 0, 0
    return int(loud[0] * win), int((loud[-1] + 1) * win)


class Agent:
    """The example's agent process; its JSON lines are the agent side's view."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, AGENT, "start"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.events: list[dict] = []
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line.rstrip())
            if line.startswith("{"):
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    pass

    async def registered(self, timeout: float) -> None:
        """Waits for the worker to register with livekit-server: a room created before that is
        never dispatched to it."""
        deadline = time.monotonic() + timeout
        while not any('"registered worker"' in line for line in self.log):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("the agent worker did not register:\n" + "\n".join(self.log[-20:]))
            await asyncio.sleep(0.05)

    async def wait_for(self, name: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events:
                if e.get("event") == name:
                    return e
                if e.get("event") == "avatar_failed":
                    raise AssertionError(f"the avatar did not start: {e}")
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no '{name}' from the agent in {timeout:g} s:\n" + "\n".join(self.log[-40:]))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class Subscriber:
    """A participant that receives the avatar's tracks and stamps every frame on arrival."""

    def __init__(self) -> None:
        self.room = rtc.Room()
        self.video: list[tuple[float, np.ndarray]] = []  # arrival, Y plane (downscaled)
        self.audio: list[tuple[float, np.ndarray]] = []  # arrival, mono s16 at 16 kHz
        self.tasks: list[asyncio.Task] = []

        @self.room.on("track_subscribed")
        def _on_track(track: rtc.Track, _pub: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant) -> None:
            if participant.identity != AVATAR:
                return
            if track.kind == rtc.TrackKind.KIND_VIDEO:
                self.tasks.append(asyncio.ensure_future(self._video(rtc.VideoStream(track, format=rtc.VideoBufferType.I420))))
            elif track.kind == rtc.TrackKind.KIND_AUDIO:
                self.tasks.append(asyncio.ensure_future(self._audio(rtc.AudioStream(track, sample_rate=16000, num_channels=1))))

    async def _video(self, stream: rtc.VideoStream) -> None:
        async for ev in stream:
            f = ev.frame
            y = np.frombuffer(f.data, dtype=np.uint8)[: f.width * f.height].reshape(f.height, f.width)
            self.video.append((time.monotonic(), y[::2, ::2].copy()))

    async def _audio(self, stream: rtc.AudioStream) -> None:
        async for ev in stream:
            self.audio.append((time.monotonic(), np.frombuffer(ev.frame.data, dtype=np.int16).copy()))

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.room.disconnect()


async def mouth_region(url: str) -> tuple[slice, slice]:
    """Rows and columns (of the half-size Y plane) covering the pasted mouth in every source frame."""
    async with LipSyncClient(url) as client:
        info = await client.get_avatar("demo")
    size = info.avatar.model.input_size
    m = info.mouth_box
    xs = [c.x + m.x * c.width / size for c in info.crop_boxes] + [c.x + (m.x + m.width) * c.width / size for c in info.crop_boxes]
    ys = [c.y + m.y * c.height / size for c in info.crop_boxes] + [c.y + (m.y + m.height) * c.height / size for c in info.crop_boxes]
    return slice(int(min(ys)) // 2, int(max(ys)) // 2 + 1), slice(int(min(xs)) // 2, int(max(xs)) // 2 + 1)


def non_idle(frames: list[np.ndarray], idle_count: int) -> list[bool]:
    """Which frames differ (in the mouth region) from every idle frame seen before speech by more
    than idle frames differ among themselves: the generated mouth is not in the idle footage."""
    idle = np.stack(frames[:idle_count]).astype(np.int16)
    def distance(f: np.ndarray) -> float:
        return float(np.min(np.mean(np.abs(idle - f.astype(np.int16)), axis=(1, 2))))
    # The same footage through VP8 twice differs a little: the noise floor of idle frames.
    floor = max(float(np.min(np.mean(np.abs(np.delete(idle, i, 0) - idle[i]), axis=(1, 2)))) for i in range(0, idle_count, 5))
    # As the TypeScript tests judge it (e2e/livekit-measure.ts): three times the noise, at least one level.
    return [distance(f) > max(3 * floor, 1.0) for f in frames]


async def test_a_livekit_agent_with_the_plugin_drives_the_avatar_in_a_real_room(lipsync_server, livekit_server):
    if not await room_sessions_supported(lipsync_server.url):
        pytest.skip("this server build has no StartRoomSession yet (the room participant lands from branch voice)")
    lk = livekit_server
    env = {**os.environ, "LIVEKIT_URL": lk.url, "LIVEKIT_API_KEY": lk.api_key, "LIVEKIT_API_SECRET": lk.api_secret,
           "LIPSYNC_URL": lipsync_server.url, "LIPSYNC_EXAMPLE_WAVS": ",".join(WAVS), "LIPSYNC_EXAMPLE_IGNORE_LOAD": "1"}
    agent = Agent(env)
    sub = Subscriber()
    try:
        room_name = f"agent-{uuid.uuid4().hex[:8]}"
        token = (api.AccessToken(lk.api_key, lk.api_secret).with_identity("viewer")
                 .with_grants(api.VideoGrants(room_join=True, room=room_name)).to_jwt())
        # Joining creates the room; livekit-server dispatches the registered agent to it.
        await agent.registered(60)
        await asyncio.wait_for(sub.room.connect(lk.url, token), 20)
        await agent.wait_for("avatar_joined", 90)
        first = await agent.wait_for("said", 60)
        assert first["interrupted"] is False
        await agent.wait_for("done", 30)
        finished = [e for e in agent.events if e.get("event") == "playback_finished"]
        # The barge-in (clear_buffer) is answered by lk.playback_finished with interrupted true.
        assert [e["interrupted"] for e in finished] == [False, True], finished
        t_done = time.monotonic()
        await _wait(lambda: len(sub.video) and sub.video[-1][0] > t_done + 1.0, 10, "a second of idle video after the barge-in")
    finally:
        await sub.close()
        agent.stop()

    times = np.array([t for t, _ in sub.video])
    duration = times[-1] - times[0]
    assert len(sub.video) >= 0.95 * FPS * duration, f"{len(sub.video)} frames in {duration:.2f} s"

    audio = np.concatenate([a for _, a in sub.audio])
    with wave.open(WAVS[0], "rb") as w:
        sent = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    s0, s1 = speech_span(sent, 16000)
    r0, _ = speech_span(audio, 16000)
    # The first utterance is received whole: its speech spans as long as the recording's.
    first_span = _first_utterance_span(audio)
    assert abs(first_span - (s1 - s0)) <= 2 * 640, f"received {first_span} samples of speech, sent {s1 - s0}"

    # The first non-idle video frame and the first speech audio arrive together, to a gross-desync
    # bound: the server sends them within a frame, but this subscriber plays neither track, and on
    # two busy cores their arrival times spread up to 222 ms (its audio jitter buffer's delay is not
    # matched on the video side; docs/livekit.md, "Known gaps"). A missing or doubled lead fails it.
    audio_arrivals = np.concatenate([np.full(len(a), t) for t, a in sub.audio])
    t_speech_audio = audio_arrivals[r0]
    idle_count = int(np.searchsorted(times, t_speech_audio - 0.5))
    assert idle_count >= 10, "the avatar streamed idle frames before speech"
    rows, cols = await mouth_region(lipsync_server.url)
    flags = non_idle([y[rows, cols] for _, y in sub.video], idle_count)
    first_speech_video = next(i for i, f in enumerate(flags) if f and i >= idle_count)
    assert abs(times[first_speech_video] - t_speech_audio) <= 0.25, \
        f"first speech frame {1000 * (times[first_speech_video] - t_speech_audio):.0f} ms from the first speech audio"
    # Back to idle: the last second is idle footage again.
    tail = [flags[i] for i in range(len(times)) if times[i] > times[-1] - 1.0]
    assert sum(tail) <= 2, "the avatar did not return to idle after the barge-in"


def _first_utterance_span(audio: np.ndarray) -> int:
    """Samples from the first loud window to the last loud one before the first silence of 0.5 s."""
    win = 320
    n = len(audio) // win
    rms = np.sqrt(np.mean(((audio[: n * win].astype(np.float64) / 32768) ** 2).reshape(n, win), axis=1))
    loud = np.nonzero(rms > 0.01)[0]
    start = end = loud[0]
    for i in loud[1:]:
        if i - end > 25:
            break
        end = i
    return int((end + 1 - start) * win)


async def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)
