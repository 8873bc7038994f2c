"""AvatarSession.start's answers to bad input, in a real room of a real livekit-server."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from livekit import api, rtc
from livekit.agents import APIConnectOptions, AgentSession

from conftest import start_server, stop_server
from lipsync import LipSyncClient
from livekit.plugins import lipsync

NO_RETRY = APIConnectOptions(max_retry=0, retry_interval=0.1, timeout=5)


async def joined_room(lk) -> rtc.Room:
    room = rtc.Room()
    name = f"errors-{uuid.uuid4().hex[:8]}"
    token = (api.AccessToken(lk.api_key, lk.api_secret).with_identity("agent").with_kind("agent")
             .with_grants(api.VideoGrants(room_join=True, room=name)).to_jwt())
    await asyncio.wait_for(room.connect(lk.url, token), 20)
    return room


async def start(lk, server_url: str, **options) -> lipsync.LipSyncAvatarError:
    room = await joined_room(lk)
    avatar = lipsync.AvatarSession(server_url=server_url, conn_options=NO_RETRY, **options)
    try:
        with pytest.raises(lipsync.LipSyncAvatarError) as info:
            await asyncio.wait_for(avatar.start(AgentSession(), room=room, livekit_url=lk.url, livekit_api_key=lk.api_key,
                                                livekit_api_secret=lk.api_secret), 40)
        return info.value
    finally:
        await avatar.aclose()
        await room.disconnect()


def skip_if_no_room_sessions(error: lipsync.LipSyncAvatarError) -> None:
    if error.code == "unimplemented":
        pytest.skip("this server build has no StartRoomSession yet (the room participant lands from branch voice)")


async def test_an_unreachable_server_is_a_retryable_error(livekit_server):
    e = await start(livekit_server, "http://127.0.0.1:9")
    assert e.code == "unavailable" and e.retryable and "127.0.0.1:9" in str(e)


async def test_an_unknown_avatar_is_not_retryable(livekit_server, lipsync_server):
    e = await start(livekit_server, lipsync_server.url, avatar="nobody")
    skip_if_no_room_sessions(e)
    assert e.code == "not_found" and not e.retryable and "nobody" in str(e)


@pytest.fixture(scope="module")
def full_server():
    server = start_server("--capacity", "1")
    yield server
    stop_server(server)


async def test_a_server_at_capacity_is_a_retryable_refusal(livekit_server, full_server):
    async with LipSyncClient(full_server.url) as client:
        async with client.speak("demo", sample_rate=16000):  # takes the only slot
            e = await start(livekit_server, full_server.url)
    skip_if_no_room_sessions(e)
    assert e.code == "resource_exhausted" and e.retryable


def test_a_missing_server_url_is_refused_at_once(monkeypatch):
    monkeypatch.delenv("LIPSYNC_URL", raising=False)
    with pytest.raises(lipsync.LipSyncAvatarError) as info:
        lipsync.AvatarSession()
    assert "LIPSYNC_URL" in str(info.value) and not info.value.retryable
