"""A LiveKit voice agent with a self-hosted lip-synced avatar (livekit-plugins-lipsync), and no
cloud service: a TTS stand-in speaks recorded WAV files. Run a lipsync server and LiveKit first:

    lipsync serve --port 8080                         # pnpm lipsync serve
    livekit-server --dev                              # bash scripts/livekit-server.sh builds it
    LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
    LIPSYNC_URL=http://127.0.0.1:8080 .venv/bin/python examples/livekit-agent-python/agent.py start

Join the room from any LiveKit client: the agent is dispatched, the avatar joins and publishes
video and audio and idles for two seconds, the agent says the first recording, then starts the second and barges in on it
one second later (what an interruption by the user does), and the avatar goes back to idle.
Each step is printed as one JSON line (the tests read them). With a real voice pipeline only the
AgentSession changes: stt=..., llm=..., tts=... instead of the stand-in.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import wave

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobExecutorType, cli, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.plugins import lipsync

HERE = os.path.dirname(os.path.abspath(__file__))
HELDOUT = os.path.join(HERE, "..", "..", "models", "heldout")
WAVS = os.getenv("LIPSYNC_EXAMPLE_WAVS", f"{HELDOUT}/gate-0.wav,{HELDOUT}/gate-1.wav").split(",")


def report(event: str, **fields) -> None:
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def _first_sound(pcm: bytes, rate: int) -> int:
    """Byte offset of the first 20 ms window above -40 dBFS (16-bit mono)."""
    win = rate // 50
    for i in range(0, len(pcm) // 2 - win, win):
        block = memoryview(pcm)[2 * i:2 * (i + win)].cast("h")
        if (sum(v * v for v in block) / win) ** 0.5 >= 328:
            return 2 * i
    return 0


class WavTTS(tts.TTS):
    """Speaks the next WAV file (16-bit mono) whatever the text: a stand-in for a cloud TTS."""

    def __init__(self, paths: list[str]) -> None:
        with wave.open(paths[0], "rb") as w:
            rate = w.getframerate()
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=rate, num_channels=1)
        self._paths = paths
        self._next = 0

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> "WavStream":
        path = self._paths[self._next % len(self._paths)]
        self._next += 1
        return WavStream(tts=self, input_text=text, conn_options=conn_options, path=path)


class WavStream(tts.ChunkedStream):
    def __init__(self, *, tts: WavTTS, input_text: str, conn_options: APIConnectOptions, path: str) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._path = path

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        with wave.open(self._path, "rb") as w:
            rate, pcm = w.getframerate(), w.readframes(w.getnframes())
        pcm = pcm[_first_sound(pcm, rate):]  # a TTS starts speaking at once: no leading silence
        output_emitter.initialize(request_id=utils.shortuuid(), sample_rate=rate, num_channels=1, mime_type="audio/pcm")
        step = rate // 50 * 2  # 20 ms chunks, as a streaming TTS produces them
        for i in range(0, len(pcm), step):
            output_emitter.push(pcm[i:i + step])
        output_emitter.flush()


# One job in this process (a thread): the example runs beside everything else on a small machine.
# LIPSYNC_EXAMPLE_IGNORE_LOAD=1 (the tests) keeps the worker available on a busy CI machine, where
# the default CPU-load threshold (0.7) would stop livekit-server from dispatching it.
server = AgentServer(port=0, num_idle_processes=0, job_executor_type=JobExecutorType.THREAD,
                     load_fnc=(lambda: 0.0) if os.getenv("LIPSYNC_EXAMPLE_IGNORE_LOAD") else None)


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    # DataStreamAudioOutput cannot pause: false-interruption resume stays off (VOICE_AGENTS.md).
    session = AgentSession(tts=WavTTS(WAVS), turn_handling={"interruption": {"resume_false_interruption": False}})
    avatar = lipsync.AvatarSession(avatar=os.getenv("LIPSYNC_AVATAR", "demo"))
    try:
        await avatar.start(session, room=ctx.room)
    except lipsync.LipSyncAvatarError as e:
        report("avatar_failed", code=e.code, retryable=e.retryable, message=str(e))
        ctx.shutdown(reason="avatar failed")
        return
    report("avatar_started", session_id=avatar.session_id)
    await session.start(agent=Agent(instructions="You are a helpful assistant."), room=ctx.room)
    session.output.audio.on("playback_finished", lambda ev: report(
        "playback_finished", position=ev.playback_position, interrupted=ev.interrupted))
    await avatar.wait_for_join(timeout=30)
    report("avatar_joined")
    await asyncio.sleep(2.0)  # the avatar idles a moment before it speaks

    first = session.say("The first recording.", allow_interruptions=True)
    await asyncio.wait_for(first.wait_for_playout(), 60)
    report("said", interrupted=first.interrupted)

    second = session.say("The second recording, cut short.", allow_interruptions=True)
    await asyncio.sleep(1.0 + 0.5)  # about a second of it plays (after the avatar's latency)
    report("barge_in")
    second.interrupt()
    await asyncio.wait_for(second.wait_for_playout(), 10)
    report("said", interrupted=second.interrupted)
    report("done")


if __name__ == "__main__":
    if len(sys.argv) == 1:
        sys.argv.append("start")
    cli.run_app(server)
