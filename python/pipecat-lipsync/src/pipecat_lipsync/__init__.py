"""pipecat-lipsync: a self-hosted lip-synced avatar for Pipecat, served by a lipsync server.

    from pipecat_lipsync import LipSyncVideoService

    avatar = LipSyncVideoService(server_url="http://127.0.0.1:8080", avatar="demo")
    pipeline = Pipeline([transport.input(), stt, llm, tts, avatar, transport.output()])
"""
from .alignment import SpeechAligner
from .video import LipSyncVideoService, LipSyncVideoSettings

__version__ = "0.1.0"
__all__ = ["LipSyncVideoService", "LipSyncVideoSettings", "SpeechAligner", "__version__"]
