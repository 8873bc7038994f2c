"""Stream a WAV through lipsync's Speak over gRPC, as a voice agent's TTS would, and count the
lip-synced frames that come back. Python stubs come from the repository's proto/:

    buf generate --template buf.gen.other.yaml          # writes gen/python (needs Debian's
                                                        # protoc and grpc_python_plugin)
    python3 examples/python/speak.py localhost:8080 models/heldout/gate-0.wav

Prints one JSON line: speech frames, what the audio's length predicts, first-frame latency.
"""
import json
import math
import os
import sys
import time
import wave

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "gen", "python"))
from lipsync.v1 import lipsync_pb2 as pb  # noqa: E402
from lipsync.v1 import lipsync_pb2_grpc as rpc  # noqa: E402

CHUNK_SECONDS = 0.02


def requests(pcm: bytes, rate: int):
    yield pb.SpeakRequest(config=pb.SpeakConfig(
        avatar="demo", audio_format=pb.AudioFormat(encoding=pb.AUDIO_ENCODING_PCM_S16LE, sample_rate=rate, channels=1)))
    step = int(rate * CHUNK_SECONDS) * 2
    for i in range(0, len(pcm), step):
        yield pb.SpeakRequest(audio=pb.AudioChunk(data=pcm[i:i + step]))
    yield pb.SpeakRequest(end=pb.EndOfSpeech())


def speak(target: str, wav_path: str) -> dict:
    with wave.open(wav_path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit("this example streams 16-bit mono WAV; convert with ffmpeg -ac 1 -c:a pcm_s16le")
        rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    with grpc.insecure_channel(target) as channel:
        stub = rpc.LipSyncServiceStub(channel)
        start = time.perf_counter()
        first_ms, frames = None, 0
        for response in stub.Speak(requests(pcm, rate), timeout=60):
            kind = response.WhichOneof("message")
            if kind == "frame" and response.frame.kind == pb.FRAME_KIND_SPEECH:
                frames += 1
                if first_ms is None:
                    first_ms = (time.perf_counter() - start) * 1000
            elif kind == "playback_finished":
                break
    samples_16k = math.ceil(len(pcm) / 2 * 16000 / rate)
    return {"frames": frames, "expected": math.ceil(samples_16k / 640), "first_frame_ms": round(first_ms or 0)}


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "localhost:8080"
    wav_path = sys.argv[2] if len(sys.argv) > 2 else "models/heldout/gate-0.wav"
    print(json.dumps(speak(target, wav_path)))
