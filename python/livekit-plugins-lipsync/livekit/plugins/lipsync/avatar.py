"""AvatarSession: asks a lipsync server to join the agent's room as its avatar."""
from __future__ import annotations

import asyncio
import os

from livekit import api, rtc
from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, AgentSession, APIConnectOptions, APIError, NotGivenOr, get_job_context
from livekit.agents.voice.avatar import AvatarSession as BaseAvatarSession
from livekit.agents.voice.avatar import DataStreamAudioOutput
from livekit.agents.voice.room_io import ATTRIBUTE_PUBLISH_ON_BEHALF

from lipsync import LipSyncClient, LipSyncError

from .log import logger

_AVATAR_IDENTITY = "lipsync-avatar"
# Joining means connecting to LiveKit and publishing both tracks: longer than a plain RPC.
_JOIN_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0


class LipSyncAvatarError(APIError):
    """The lipsync server could not start (or stop) the avatar.

    ``code`` is the server's status (``not_found`` for an unknown avatar, ``resource_exhausted``
    for a server at capacity, ``unavailable`` for one that cannot be reached, ...); ``retryable``
    says whether trying again later may succeed.
    """

    def __init__(self, message: str, *, code: str, retryable: bool) -> None:
        super().__init__(message, body=None, retryable=retryable)
        self.code = code


class AvatarSession(BaseAvatarSession):
    """A lip-synced avatar rendered by a self-hosted lipsync server.

    Args:
        server_url: the lipsync server (``http://host:port``, gRPC); default ``$LIPSYNC_URL``.
        avatar: the avatar's name on that server.
        api_token: the server's bearer token, if it requires one; default ``$LIPSYNC_API_TOKEN``.
        avatar_participant_identity: the avatar's identity in the room.
        avatar_participant_name: its display name.
        publish_audio: the avatar publishes the speech as its audio track, paced with the video
            (what the other avatar plugins do). False: video only.
        conn_options: retries of a refused or failed start (retryable errors only) and the
            timeout of each call to the server.
    """

    def __init__(self, *, server_url: NotGivenOr[str] = NOT_GIVEN, avatar: str = "demo", api_token: str | None = None,
                 avatar_participant_identity: NotGivenOr[str] = NOT_GIVEN, avatar_participant_name: NotGivenOr[str] = NOT_GIVEN,
                 publish_audio: bool = True, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> None:
        super().__init__()
        url = server_url or os.getenv("LIPSYNC_URL")
        if not url:
            raise LipSyncAvatarError("server_url must be given, or set LIPSYNC_URL", code="invalid_argument", retryable=False)
        self._server_url = url
        self._avatar = avatar
        self._api_token = api_token or os.getenv("LIPSYNC_API_TOKEN") or None
        self._identity = avatar_participant_identity or _AVATAR_IDENTITY
        self._name = avatar_participant_name or self._identity
        self._publish_audio = publish_audio
        self._conn_options = conn_options
        self._session_id: str | None = None
        self._client: LipSyncClient | None = None

    @property
    def avatar_identity(self) -> str:
        return self._identity

    @property
    def provider(self) -> str:
        return "lipsync"

    @property
    def session_id(self) -> str | None:
        """The server's id of the room session, once started."""
        return self._session_id

    async def start(self, agent_session: AgentSession, room: rtc.Room, *, livekit_url: NotGivenOr[str] = NOT_GIVEN,
                    livekit_api_key: NotGivenOr[str] = NOT_GIVEN, livekit_api_secret: NotGivenOr[str] = NOT_GIVEN) -> None:
        """Mints the avatar's token, has the lipsync server join ``room`` with it, and routes the
        agent's audio to the avatar. Raises LipSyncAvatarError when the server refuses."""
        await super().start(agent_session, room)
        livekit_url = livekit_url or os.getenv("LIVEKIT_URL") or NOT_GIVEN
        livekit_api_key = livekit_api_key or os.getenv("LIVEKIT_API_KEY") or NOT_GIVEN
        livekit_api_secret = livekit_api_secret or os.getenv("LIVEKIT_API_SECRET") or NOT_GIVEN
        if not livekit_url or not livekit_api_key or not livekit_api_secret:
            raise LipSyncAvatarError("livekit_url, livekit_api_key and livekit_api_secret must be given or set "
                                     "(LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)", code="invalid_argument", retryable=False)
        job_ctx = get_job_context(required=False)
        agent_identity = job_ctx.local_participant_identity if job_ctx is not None else room.local_participant.identity
        token = (
            api.AccessToken(api_key=livekit_api_key, api_secret=livekit_api_secret)
            .with_kind("agent")
            .with_identity(self._identity)
            .with_name(self._name)
            .with_grants(api.VideoGrants(room_join=True, room=room.name))
            # the avatar publishes its tracks on behalf of the agent
            .with_attributes({ATTRIBUTE_PUBLISH_ON_BEHALF: agent_identity})
            .to_jwt()
        )
        logger.debug("starting avatar session", extra={"avatar": self._avatar})
        self._session_id = await self._start_room_session(livekit_url, token, agent_identity)
        agent_session.output.replace_audio_tail(
            DataStreamAudioOutput(room=room, destination_identity=self._identity, wait_remote_track=rtc.TrackKind.KIND_VIDEO)
        )

    async def _start_room_session(self, livekit_url: str, token: str, agent_identity: str) -> str:
        self._client = self._client or LipSyncClient(self._server_url, token=self._api_token, timeout=self._conn_options.timeout)
        for attempt in range(self._conn_options.max_retry + 1):
            try:
                started = await self._client.start_room_session(self._avatar, livekit_url, token, agent_identity=agent_identity,
                                                                audio=self._publish_audio, timeout=max(_JOIN_TIMEOUT, self._conn_options.timeout))
                logger.info("avatar joined", extra={"room": started.room, "session_id": started.session_id})
                return started.session_id
            except LipSyncError as e:
                if not e.retryable or attempt >= self._conn_options.max_retry:
                    raise self._error(e) from None
                logger.warning("lipsync server refused the avatar session, retrying", extra={"attempt": attempt + 1, "code": e.code})
                await asyncio.sleep(e.retry_after or self._conn_options.retry_interval)
        raise AssertionError("unreachable")

    def _error(self, e: LipSyncError) -> LipSyncAvatarError:
        what = {
            "not_found": f"avatar {self._avatar!r} not found on the lipsync server at {self._server_url}: {e.message}",
            "resource_exhausted": f"the lipsync server at {self._server_url} is at capacity: {e.message}",
            "unavailable": f"the lipsync server at {self._server_url} cannot be reached: {e.message}",
            "unimplemented": f"the lipsync server at {self._server_url} has no room sessions (StartRoomSession): upgrade it",
            "deadline_exceeded": f"the lipsync server at {self._server_url} did not join the room in time: {e.message}",
        }.get(e.code, f"the lipsync server at {self._server_url} refused the avatar session: {e.code}: {e.message}")
        return LipSyncAvatarError(what, code=e.code, retryable=e.retryable)

    async def aclose(self) -> None:
        """Stops the room session on the server, then removes the avatar from the room."""
        session_id, self._session_id = self._session_id, None
        if session_id and self._client is not None:
            try:
                await asyncio.wait_for(self._client.stop_room_session(session_id), _STOP_TIMEOUT)
            except (LipSyncError, asyncio.TimeoutError) as e:
                logger.warning("could not stop the avatar session", extra={"error": str(e)})
        if self._client is not None:
            await self._client.close()
            self._client = None
        await super().aclose()
