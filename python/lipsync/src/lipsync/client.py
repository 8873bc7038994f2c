"""An asyncio client of a lipsync server over gRPC (grpc.aio), typed on the generated stubs.

    async with LipSyncClient("http://127.0.0.1:8080") as client:
        print([a.name for a in await client.list_avatars()])
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal
from urllib.parse import urlsplit

import grpc

from .errors import LipSyncError
from .events import IMAGE_FORMATS, ImageFormatName, SpeakEvent, VideoFrame, event_from_pb, frame_from_pb
from .speak import SpeakStream
from .v1 import lipsync_pb2 as pb
from .v1 import lipsync_pb2_grpc as rpc

Encoding = Literal["pcm_s16le", "pcm_f32le", "wav"]
_ENCODINGS = {
    "pcm_s16le": (pb.AUDIO_ENCODING_PCM_S16LE, 2),
    "pcm_f32le": (pb.AUDIO_ENCODING_PCM_F32LE, 4),
    "wav": (pb.AUDIO_ENCODING_WAV, 1),
}
# A raw RGB frame of a 1080p avatar is 6 MB, past grpcio's 4 MB default.
_MAX_MESSAGE_BYTES = 64 << 20


def parse_target(url: str) -> tuple[str, bool]:
    """``http://host:port`` -> (``host:port``, tls False); ``https://`` -> TLS; a bare
    ``host:port`` is cleartext (HTTP/2 with prior knowledge, what the server speaks)."""
    if "://" not in url:
        return url, False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "grpc", "grpcs") or not parts.hostname:
        raise ValueError(f"not a lipsync server URL: {url!r} (expected http://host:port or https://host:port)")
    tls = parts.scheme in ("https", "grpcs")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or (443 if tls else 80)}", tls


class LipSyncClient:
    """A connection to one lipsync server.

    Args:
        url: ``http://host:port`` (cleartext HTTP/2), ``https://host:port`` (TLS), or ``host:port``.
        token: a bearer token, when the server requires one (``lipsync serve --auth-token``).
        timeout: seconds each unary call and each session start may take.
        root_certificates: PEM roots for TLS (default: the system's).
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0, root_certificates: bytes | None = None) -> None:
        self.target, tls = parse_target(url)
        self.timeout = timeout
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", 16 << 20)]
        if tls:
            self._channel = grpc.aio.secure_channel(self.target, grpc.ssl_channel_credentials(root_certificates), options=options)
        else:
            self._channel = grpc.aio.insecure_channel(self.target, options=options)
        self.stub = rpc.LipSyncServiceStub(self._channel)
        """The generated stub, for RPCs this class does not wrap."""

    async def __aenter__(self) -> "LipSyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _unary(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return await method(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise LipSyncError.from_rpc(e, self.target) from None

    async def list_avatars(self) -> list[pb.AvatarInfo]:
        """Every avatar in the server's roots, loaded or not, sorted by name."""
        return list((await self._unary(self.stub.ListAvatars, pb.ListAvatarsRequest())).avatars)

    async def get_avatar(self, name: str) -> pb.GetAvatarResponse:
        """One avatar (loading it if needed); ``not_found`` names the known ones."""
        return await self._unary(self.stub.GetAvatar, pb.GetAvatarRequest(name=name))

    async def render_frame(self, avatar: str, index: int, *, image_format: ImageFormatName = "jpeg", quality: int = 0) -> VideoFrame:
        """Frame ``index`` of the avatar, driven by its own audio track."""
        req = pb.RenderFrameRequest(avatar=avatar, index=index, format=IMAGE_FORMATS[image_format], quality=quality)
        return frame_from_pb((await self._unary(self.stub.RenderFrame, req)).frame)

    async def get_stats(self) -> pb.GetStatsResponse:
        return await self._unary(self.stub.GetStats, pb.GetStatsRequest())

    def speak(self, avatar: str, *, sample_rate: int, encoding: Encoding = "pcm_s16le", channels: int = 1, continuous: bool = False,
              image_format: ImageFormatName = "jpeg", quality: int = 0, mouth_patch: bool = False) -> SpeakStream:
        """A live session: ``async with client.speak("demo", sample_rate=24000) as s:``.

        Args:
            sample_rate: of the PCM pushed, 8000 .. 192000 (resampled to 16 kHz by the server).
            encoding: ``pcm_s16le`` or ``pcm_f32le``, interleaved ``channels`` (1 or 2).
            continuous: the server also paces idle frames between utterances, so one unbroken
                stream at the avatar's fps comes back (what a video track needs).
            image_format: ``jpeg``, or raw ``rgb`` / ``rgba`` / ``i420`` (no decoding needed).
        """
        if encoding == "wav":
            raise ValueError("speak() streams raw PCM; use speak_audio() for a WAV file")
        code, width = _ENCODINGS[encoding]
        config = pb.SpeakConfig(avatar=avatar, audio_format=pb.AudioFormat(encoding=code, sample_rate=sample_rate, channels=channels),
                                continuous=continuous, image_format=IMAGE_FORMATS[image_format], quality=quality, mouth_patch=mouth_patch)
        call = self.stub.Speak(metadata=self._metadata)
        return SpeakStream(call, config, target=self.target, start_timeout=self.timeout, bytes_per_frame=width * channels)

    async def speak_audio(self, avatar: str, audio: bytes, *, encoding: Encoding = "wav", sample_rate: int = 0, channels: int = 1,
                          image_format: ImageFormatName = "jpeg", quality: int = 0, mouth_patch: bool = False,
                          timeout: float | None = None) -> AsyncIterator[SpeakEvent]:
        """One clip in (a WAV file by default, at most 16 MiB), its events out: Started, the
        frames, then SpeechEnded. ``timeout`` bounds the whole call, seconds (default: 60, or
        the client's timeout when longer)."""
        code, _ = _ENCODINGS[encoding]
        req = pb.SpeakAudioRequest(avatar=avatar, audio=audio, audio_format=pb.AudioFormat(encoding=code, sample_rate=sample_rate, channels=channels),
                                   image_format=IMAGE_FORMATS[image_format], quality=quality, mouth_patch=mouth_patch)
        call = self.stub.SpeakAudio(req, timeout=timeout or max(60.0, self.timeout), metadata=self._metadata)
        try:
            async for message in call:
                event = event_from_pb(message)
                if event is not None:
                    yield event
        except grpc.RpcError as e:
            raise LipSyncError.from_rpc(e, self.target) from None
        finally:
            call.cancel()

    async def start_room_session(self, avatar: str, livekit_url: str, token: str, *, agent_identity: str = "",
                                 audio: bool = True, audio_sample_rate: int = 0, timeout: float | None = None) -> pb.StartRoomSessionResponse:
        """Asks the server to join a LiveKit room as the avatar (LiveKit's avatar protocol) and
        returns once it has joined and published its tracks.

        Args:
            token: the avatar's participant token (kind agent, room_join, attribute
                ``lk.publish_on_behalf``); never logged by the server.
            agent_identity: whose speech to play; empty: the token's ``lk.publish_on_behalf``.
            audio: publish the paced speech as an audio track (False: video only).
            timeout: seconds to wait for the join (default: the client's timeout).
        """
        req = pb.StartRoomSessionRequest(avatar=avatar, livekit_url=livekit_url, token=token, agent_identity=agent_identity,
                                         output=pb.RoomOutput(audio=audio, audio_sample_rate=audio_sample_rate))
        return await self._unary(self.stub.StartRoomSession, req, timeout)

    async def stop_room_session(self, session_id: str) -> bool:
        """Leaves the room; False if no such room session was running."""
        return (await self._unary(self.stub.StopRoomSession, pb.StopRoomSessionRequest(session_id=session_id))).stopped
