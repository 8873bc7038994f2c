from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_FORMAT_UNSPECIFIED: _ClassVar[ImageFormat]
    IMAGE_FORMAT_JPEG: _ClassVar[ImageFormat]
    IMAGE_FORMAT_RGB: _ClassVar[ImageFormat]
    IMAGE_FORMAT_RGBA: _ClassVar[ImageFormat]
    IMAGE_FORMAT_I420: _ClassVar[ImageFormat]

class FrameKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAME_KIND_UNSPECIFIED: _ClassVar[FrameKind]
    FRAME_KIND_SPEECH: _ClassVar[FrameKind]
    FRAME_KIND_IDLE: _ClassVar[FrameKind]

class SourceView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_VIEW_UNSPECIFIED: _ClassVar[SourceView]
    SOURCE_VIEW_FULL: _ClassVar[SourceView]
    SOURCE_VIEW_CROP: _ClassVar[SourceView]
    SOURCE_VIEW_MASKED_CROP: _ClassVar[SourceView]

class AudioEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_ENCODING_UNSPECIFIED: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_PCM_S16LE: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_PCM_F32LE: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_WAV: _ClassVar[AudioEncoding]
IMAGE_FORMAT_UNSPECIFIED: ImageFormat
IMAGE_FORMAT_JPEG: ImageFormat
IMAGE_FORMAT_RGB: ImageFormat
IMAGE_FORMAT_RGBA: ImageFormat
IMAGE_FORMAT_I420: ImageFormat
FRAME_KIND_UNSPECIFIED: FrameKind
FRAME_KIND_SPEECH: FrameKind
FRAME_KIND_IDLE: FrameKind
SOURCE_VIEW_UNSPECIFIED: SourceView
SOURCE_VIEW_FULL: SourceView
SOURCE_VIEW_CROP: SourceView
SOURCE_VIEW_MASKED_CROP: SourceView
AUDIO_ENCODING_UNSPECIFIED: AudioEncoding
AUDIO_ENCODING_PCM_S16LE: AudioEncoding
AUDIO_ENCODING_PCM_F32LE: AudioEncoding
AUDIO_ENCODING_WAV: AudioEncoding

class Box(_message.Message):
    __slots__ = ("x", "y", "width", "height")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    width: int
    height: int
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class StageTimings(_message.Message):
    __slots__ = ("prepare_ms", "queue_ms", "inference_ms", "composite_ms", "encode_ms", "total_ms", "batch_size")
    PREPARE_MS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_MS_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_MS_FIELD_NUMBER: _ClassVar[int]
    COMPOSITE_MS_FIELD_NUMBER: _ClassVar[int]
    ENCODE_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    prepare_ms: float
    queue_ms: float
    inference_ms: float
    composite_ms: float
    encode_ms: float
    total_ms: float
    batch_size: int
    def __init__(self, prepare_ms: _Optional[float] = ..., queue_ms: _Optional[float] = ..., inference_ms: _Optional[float] = ..., composite_ms: _Optional[float] = ..., encode_ms: _Optional[float] = ..., total_ms: _Optional[float] = ..., batch_size: _Optional[int] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("image", "format", "width", "height", "source_index", "pts", "kind", "mouth_box", "timings", "patch")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    PTS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MOUTH_BOX_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    format: ImageFormat
    width: int
    height: int
    source_index: int
    pts: int
    kind: FrameKind
    mouth_box: Box
    timings: StageTimings
    patch: bool
    def __init__(self, image: _Optional[bytes] = ..., format: _Optional[_Union[ImageFormat, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., source_index: _Optional[int] = ..., pts: _Optional[int] = ..., kind: _Optional[_Union[FrameKind, str]] = ..., mouth_box: _Optional[_Union[Box, _Mapping]] = ..., timings: _Optional[_Union[StageTimings, _Mapping]] = ..., patch: bool = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("input_size", "lookahead_frames", "gmac_per_frame", "execution_provider", "batch_buckets", "provider_options")
    class ProviderOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    INPUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    LOOKAHEAD_FRAMES_FIELD_NUMBER: _ClassVar[int]
    GMAC_PER_FRAME_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    BATCH_BUCKETS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    input_size: int
    lookahead_frames: int
    gmac_per_frame: float
    execution_provider: str
    batch_buckets: _containers.RepeatedScalarFieldContainer[int]
    provider_options: _containers.ScalarMap[str, str]
    def __init__(self, input_size: _Optional[int] = ..., lookahead_frames: _Optional[int] = ..., gmac_per_frame: _Optional[float] = ..., execution_provider: _Optional[str] = ..., batch_buckets: _Optional[_Iterable[int]] = ..., provider_options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Capacity(_message.Message):
    __slots__ = ("sessions", "sessions_mouth_patch", "engine_fps", "engine_fps_mouth_patch", "measured")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_MOUTH_PATCH_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FPS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FPS_MOUTH_PATCH_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    sessions: int
    sessions_mouth_patch: int
    engine_fps: float
    engine_fps_mouth_patch: float
    measured: bool
    def __init__(self, sessions: _Optional[int] = ..., sessions_mouth_patch: _Optional[int] = ..., engine_fps: _Optional[float] = ..., engine_fps_mouth_patch: _Optional[float] = ..., measured: bool = ...) -> None: ...

class AvatarInfo(_message.Message):
    __slots__ = ("name", "loaded", "frame_count", "fps", "width", "height", "description", "license", "model", "error", "capacity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    loaded: bool
    frame_count: int
    fps: int
    width: int
    height: int
    description: str
    license: str
    model: ModelInfo
    error: str
    capacity: Capacity
    def __init__(self, name: _Optional[str] = ..., loaded: bool = ..., frame_count: _Optional[int] = ..., fps: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., description: _Optional[str] = ..., license: _Optional[str] = ..., model: _Optional[_Union[ModelInfo, _Mapping]] = ..., error: _Optional[str] = ..., capacity: _Optional[_Union[Capacity, _Mapping]] = ...) -> None: ...

class ListAvatarsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAvatarsResponse(_message.Message):
    __slots__ = ("avatars",)
    AVATARS_FIELD_NUMBER: _ClassVar[int]
    avatars: _containers.RepeatedCompositeFieldContainer[AvatarInfo]
    def __init__(self, avatars: _Optional[_Iterable[_Union[AvatarInfo, _Mapping]]] = ...) -> None: ...

class GetAvatarRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAvatarResponse(_message.Message):
    __slots__ = ("avatar", "crop_boxes", "mouth_box")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    CROP_BOXES_FIELD_NUMBER: _ClassVar[int]
    MOUTH_BOX_FIELD_NUMBER: _ClassVar[int]
    avatar: AvatarInfo
    crop_boxes: _containers.RepeatedCompositeFieldContainer[Box]
    mouth_box: Box
    def __init__(self, avatar: _Optional[_Union[AvatarInfo, _Mapping]] = ..., crop_boxes: _Optional[_Iterable[_Union[Box, _Mapping]]] = ..., mouth_box: _Optional[_Union[Box, _Mapping]] = ...) -> None: ...

class LoadAvatarRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class LoadAvatarResponse(_message.Message):
    __slots__ = ("avatar", "load_ms")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    LOAD_MS_FIELD_NUMBER: _ClassVar[int]
    avatar: AvatarInfo
    load_ms: float
    def __init__(self, avatar: _Optional[_Union[AvatarInfo, _Mapping]] = ..., load_ms: _Optional[float] = ...) -> None: ...

class UnloadAvatarRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class UnloadAvatarResponse(_message.Message):
    __slots__ = ("unloaded",)
    UNLOADED_FIELD_NUMBER: _ClassVar[int]
    unloaded: bool
    def __init__(self, unloaded: bool = ...) -> None: ...

class GetSourceFrameRequest(_message.Message):
    __slots__ = ("avatar", "index", "view", "format")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    avatar: str
    index: int
    view: SourceView
    format: ImageFormat
    def __init__(self, avatar: _Optional[str] = ..., index: _Optional[int] = ..., view: _Optional[_Union[SourceView, str]] = ..., format: _Optional[_Union[ImageFormat, str]] = ...) -> None: ...

class GetSourceFrameResponse(_message.Message):
    __slots__ = ("image", "format", "width", "height", "crop_box")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CROP_BOX_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    format: ImageFormat
    width: int
    height: int
    crop_box: Box
    def __init__(self, image: _Optional[bytes] = ..., format: _Optional[_Union[ImageFormat, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., crop_box: _Optional[_Union[Box, _Mapping]] = ...) -> None: ...

class RenderFrameRequest(_message.Message):
    __slots__ = ("avatar", "index", "format", "quality")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    avatar: str
    index: int
    format: ImageFormat
    quality: int
    def __init__(self, avatar: _Optional[str] = ..., index: _Optional[int] = ..., format: _Optional[_Union[ImageFormat, str]] = ..., quality: _Optional[int] = ...) -> None: ...

class RenderFrameResponse(_message.Message):
    __slots__ = ("frame",)
    FRAME_FIELD_NUMBER: _ClassVar[int]
    frame: Frame
    def __init__(self, frame: _Optional[_Union[Frame, _Mapping]] = ...) -> None: ...

class RenderFramesRequest(_message.Message):
    __slots__ = ("avatar", "indices", "format", "quality")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    INDICES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    avatar: str
    indices: _containers.RepeatedScalarFieldContainer[int]
    format: ImageFormat
    quality: int
    def __init__(self, avatar: _Optional[str] = ..., indices: _Optional[_Iterable[int]] = ..., format: _Optional[_Union[ImageFormat, str]] = ..., quality: _Optional[int] = ...) -> None: ...

class RenderFramesResponse(_message.Message):
    __slots__ = ("frames", "total_ms")
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    total_ms: float
    def __init__(self, frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ..., total_ms: _Optional[float] = ...) -> None: ...

class StreamRenderRequest(_message.Message):
    __slots__ = ("avatar", "index", "format", "quality")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    avatar: str
    index: int
    format: ImageFormat
    quality: int
    def __init__(self, avatar: _Optional[str] = ..., index: _Optional[int] = ..., format: _Optional[_Union[ImageFormat, str]] = ..., quality: _Optional[int] = ...) -> None: ...

class StreamRenderResponse(_message.Message):
    __slots__ = ("frame",)
    FRAME_FIELD_NUMBER: _ClassVar[int]
    frame: Frame
    def __init__(self, frame: _Optional[_Union[Frame, _Mapping]] = ...) -> None: ...

class AudioFormat(_message.Message):
    __slots__ = ("encoding", "sample_rate", "channels")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    encoding: AudioEncoding
    sample_rate: int
    channels: int
    def __init__(self, encoding: _Optional[_Union[AudioEncoding, str]] = ..., sample_rate: _Optional[int] = ..., channels: _Optional[int] = ...) -> None: ...

class SpeakConfig(_message.Message):
    __slots__ = ("avatar", "audio_format", "continuous", "image_format", "quality", "mouth_patch")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTINUOUS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    MOUTH_PATCH_FIELD_NUMBER: _ClassVar[int]
    avatar: str
    audio_format: AudioFormat
    continuous: bool
    image_format: ImageFormat
    quality: int
    mouth_patch: bool
    def __init__(self, avatar: _Optional[str] = ..., audio_format: _Optional[_Union[AudioFormat, _Mapping]] = ..., continuous: bool = ..., image_format: _Optional[_Union[ImageFormat, str]] = ..., quality: _Optional[int] = ..., mouth_patch: bool = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class Clear(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EndOfSpeech(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PlaybackPosition(_message.Message):
    __slots__ = ("pts",)
    PTS_FIELD_NUMBER: _ClassVar[int]
    pts: int
    def __init__(self, pts: _Optional[int] = ...) -> None: ...

class SpeakRequest(_message.Message):
    __slots__ = ("config", "audio", "clear", "end", "playback_position")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_POSITION_FIELD_NUMBER: _ClassVar[int]
    config: SpeakConfig
    audio: AudioChunk
    clear: Clear
    end: EndOfSpeech
    playback_position: PlaybackPosition
    def __init__(self, config: _Optional[_Union[SpeakConfig, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., clear: _Optional[_Union[Clear, _Mapping]] = ..., end: _Optional[_Union[EndOfSpeech, _Mapping]] = ..., playback_position: _Optional[_Union[PlaybackPosition, _Mapping]] = ...) -> None: ...

class SessionStarted(_message.Message):
    __slots__ = ("session_id", "avatar", "samples_per_frame", "clock_rate")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_FRAME_FIELD_NUMBER: _ClassVar[int]
    CLOCK_RATE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    avatar: AvatarInfo
    samples_per_frame: int
    clock_rate: int
    def __init__(self, session_id: _Optional[str] = ..., avatar: _Optional[_Union[AvatarInfo, _Mapping]] = ..., samples_per_frame: _Optional[int] = ..., clock_rate: _Optional[int] = ...) -> None: ...

class SpeechStarted(_message.Message):
    __slots__ = ("pts",)
    PTS_FIELD_NUMBER: _ClassVar[int]
    pts: int
    def __init__(self, pts: _Optional[int] = ...) -> None: ...

class SpeechEnded(_message.Message):
    __slots__ = ("start_pts", "end_pts", "interrupted")
    START_PTS_FIELD_NUMBER: _ClassVar[int]
    END_PTS_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTED_FIELD_NUMBER: _ClassVar[int]
    start_pts: int
    end_pts: int
    interrupted: bool
    def __init__(self, start_pts: _Optional[int] = ..., end_pts: _Optional[int] = ..., interrupted: bool = ...) -> None: ...

class FramesDropped(_message.Message):
    __slots__ = ("start_pts", "end_pts")
    START_PTS_FIELD_NUMBER: _ClassVar[int]
    END_PTS_FIELD_NUMBER: _ClassVar[int]
    start_pts: int
    end_pts: int
    def __init__(self, start_pts: _Optional[int] = ..., end_pts: _Optional[int] = ...) -> None: ...

class PlaybackFinished(_message.Message):
    __slots__ = ("position", "interrupted")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTED_FIELD_NUMBER: _ClassVar[int]
    position: int
    interrupted: bool
    def __init__(self, position: _Optional[int] = ..., interrupted: bool = ...) -> None: ...

class SpeakResponse(_message.Message):
    __slots__ = ("started", "frame", "speech_started", "speech_ended", "playback_finished", "frames_dropped")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    SPEECH_STARTED_FIELD_NUMBER: _ClassVar[int]
    SPEECH_ENDED_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_FINISHED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    started: SessionStarted
    frame: Frame
    speech_started: SpeechStarted
    speech_ended: SpeechEnded
    playback_finished: PlaybackFinished
    frames_dropped: FramesDropped
    def __init__(self, started: _Optional[_Union[SessionStarted, _Mapping]] = ..., frame: _Optional[_Union[Frame, _Mapping]] = ..., speech_started: _Optional[_Union[SpeechStarted, _Mapping]] = ..., speech_ended: _Optional[_Union[SpeechEnded, _Mapping]] = ..., playback_finished: _Optional[_Union[PlaybackFinished, _Mapping]] = ..., frames_dropped: _Optional[_Union[FramesDropped, _Mapping]] = ...) -> None: ...

class SpeakAudioRequest(_message.Message):
    __slots__ = ("avatar", "audio_format", "audio", "image_format", "quality", "mouth_patch")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    MOUTH_PATCH_FIELD_NUMBER: _ClassVar[int]
    avatar: str
    audio_format: AudioFormat
    audio: bytes
    image_format: ImageFormat
    quality: int
    mouth_patch: bool
    def __init__(self, avatar: _Optional[str] = ..., audio_format: _Optional[_Union[AudioFormat, _Mapping]] = ..., audio: _Optional[bytes] = ..., image_format: _Optional[_Union[ImageFormat, str]] = ..., quality: _Optional[int] = ..., mouth_patch: bool = ...) -> None: ...

class SpeakAudioResponse(_message.Message):
    __slots__ = ("started", "frame", "speech_ended", "frames_dropped")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    SPEECH_ENDED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    started: SessionStarted
    frame: Frame
    speech_ended: SpeechEnded
    frames_dropped: FramesDropped
    def __init__(self, started: _Optional[_Union[SessionStarted, _Mapping]] = ..., frame: _Optional[_Union[Frame, _Mapping]] = ..., speech_ended: _Optional[_Union[SpeechEnded, _Mapping]] = ..., frames_dropped: _Optional[_Union[FramesDropped, _Mapping]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StageStats(_message.Message):
    __slots__ = ("stage", "p50_ms", "p99_ms", "count")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    stage: str
    p50_ms: float
    p99_ms: float
    count: int
    def __init__(self, stage: _Optional[str] = ..., p50_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("requests", "transports", "stages", "frames_rendered", "active_sessions", "websocket_clients", "mean_batch_size", "uptime_seconds", "frames_dropped", "capacity_used", "sessions_refused")
    class RequestsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class TransportsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORTS_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    FRAMES_RENDERED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    WEBSOCKET_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    MEAN_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_USED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_REFUSED_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.ScalarMap[str, int]
    transports: _containers.ScalarMap[str, int]
    stages: _containers.RepeatedCompositeFieldContainer[StageStats]
    frames_rendered: int
    active_sessions: int
    websocket_clients: int
    mean_batch_size: float
    uptime_seconds: float
    frames_dropped: int
    capacity_used: float
    sessions_refused: int
    def __init__(self, requests: _Optional[_Mapping[str, int]] = ..., transports: _Optional[_Mapping[str, int]] = ..., stages: _Optional[_Iterable[_Union[StageStats, _Mapping]]] = ..., frames_rendered: _Optional[int] = ..., active_sessions: _Optional[int] = ..., websocket_clients: _Optional[int] = ..., mean_batch_size: _Optional[float] = ..., uptime_seconds: _Optional[float] = ..., frames_dropped: _Optional[int] = ..., capacity_used: _Optional[float] = ..., sessions_refused: _Optional[int] = ...) -> None: ...

class StartRoomSessionRequest(_message.Message):
    __slots__ = ("avatar", "livekit_url", "token", "agent_identity", "output")
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    LIVEKIT_URL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    AGENT_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    avatar: str
    livekit_url: str
    token: str
    agent_identity: str
    output: RoomOutput
    def __init__(self, avatar: _Optional[str] = ..., livekit_url: _Optional[str] = ..., token: _Optional[str] = ..., agent_identity: _Optional[str] = ..., output: _Optional[_Union[RoomOutput, _Mapping]] = ...) -> None: ...

class RoomOutput(_message.Message):
    __slots__ = ("audio", "audio_sample_rate")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    audio: bool
    audio_sample_rate: int
    def __init__(self, audio: bool = ..., audio_sample_rate: _Optional[int] = ...) -> None: ...

class StartRoomSessionResponse(_message.Message):
    __slots__ = ("session_id", "room", "participant_identity", "avatar")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    AVATAR_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    room: str
    participant_identity: str
    avatar: AvatarInfo
    def __init__(self, session_id: _Optional[str] = ..., room: _Optional[str] = ..., participant_identity: _Optional[str] = ..., avatar: _Optional[_Union[AvatarInfo, _Mapping]] = ...) -> None: ...

class StopRoomSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class StopRoomSessionResponse(_message.Message):
    __slots__ = ("stopped",)
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    stopped: bool
    def __init__(self, stopped: bool = ...) -> None: ...
