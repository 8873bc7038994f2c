"""lipsync avatar plugin for LiveKit Agents: a self-hosted, lip-synced avatar for a voice agent.

    from livekit.plugins import lipsync

    avatar = lipsync.AvatarSession(server_url="http://127.0.0.1:8080", avatar="demo")
    await avatar.start(session, room=ctx.room)

The lipsync server joins the room as the avatar participant, receives the agent's speech over
LiveKit's avatar protocol (byte streams on ``lk.audio_stream``, ``lk.clear_buffer``) and
publishes the lip-synced video and the paced speech as the agent's tracks.
"""
from livekit.agents import Plugin

from .avatar import AvatarSession, LipSyncAvatarError
from .log import logger
from .version import __version__

__all__ = ["AvatarSession", "LipSyncAvatarError", "__version__"]


class LipSyncPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(LipSyncPlugin())
