from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Codec(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODEC_UNSPECIFIED: _ClassVar[Codec]
    CODEC_OPUS: _ClassVar[Codec]

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    MODE_ASSISTANT: _ClassVar[Mode]
    MODE_TRANSLATION: _ClassVar[Mode]
    MODE_NAVIGATION: _ClassVar[Mode]

class Speaker(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPEAKER_UNSPECIFIED: _ClassVar[Speaker]
    SPEAKER_WEARER: _ClassVar[Speaker]
    SPEAKER_OTHER: _ClassVar[Speaker]

class Output(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_EAR: _ClassVar[Output]
    OUTPUT_OUTWARD: _ClassVar[Output]
CODEC_UNSPECIFIED: Codec
CODEC_OPUS: Codec
MODE_UNSPECIFIED: Mode
MODE_ASSISTANT: Mode
MODE_TRANSLATION: Mode
MODE_NAVIGATION: Mode
SPEAKER_UNSPECIFIED: Speaker
SPEAKER_WEARER: Speaker
SPEAKER_OTHER: Speaker
OUTPUT_EAR: Output
OUTPUT_OUTWARD: Output

class SessionStart(_message.Message):
    __slots__ = ("protocol_version", "auth_token", "codec", "sample_rate_hz", "frame_ms", "mode", "device_id", "language", "target_language", "session_id")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    FRAME_MS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    auth_token: str
    codec: Codec
    sample_rate_hz: int
    frame_ms: int
    mode: Mode
    device_id: str
    language: str
    target_language: str
    session_id: str
    def __init__(self, protocol_version: _Optional[int] = ..., auth_token: _Optional[str] = ..., codec: _Optional[_Union[Codec, str]] = ..., sample_rate_hz: _Optional[int] = ..., frame_ms: _Optional[int] = ..., mode: _Optional[_Union[Mode, str]] = ..., device_id: _Optional[str] = ..., language: _Optional[str] = ..., target_language: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class AudioFrame(_message.Message):
    __slots__ = ("seq", "capture_time_us", "opus")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    OPUS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    capture_time_us: int
    opus: bytes
    def __init__(self, seq: _Optional[int] = ..., capture_time_us: _Optional[int] = ..., opus: _Optional[bytes] = ...) -> None: ...

class TurnEvent(_message.Message):
    __slots__ = ("kind", "turn_id", "audio_seq", "time_us", "confidence", "barge_in", "speaker")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[TurnEvent.Kind]
        SPEECH_START: _ClassVar[TurnEvent.Kind]
        TENTATIVE_END: _ClassVar[TurnEvent.Kind]
        CONFIRMED_END: _ClassVar[TurnEvent.Kind]
        RESUMED: _ClassVar[TurnEvent.Kind]
        ABANDONED: _ClassVar[TurnEvent.Kind]
    KIND_UNSPECIFIED: TurnEvent.Kind
    SPEECH_START: TurnEvent.Kind
    TENTATIVE_END: TurnEvent.Kind
    CONFIRMED_END: TurnEvent.Kind
    RESUMED: TurnEvent.Kind
    ABANDONED: TurnEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BARGE_IN_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    kind: TurnEvent.Kind
    turn_id: int
    audio_seq: int
    time_us: int
    confidence: float
    barge_in: bool
    speaker: Speaker
    def __init__(self, kind: _Optional[_Union[TurnEvent.Kind, str]] = ..., turn_id: _Optional[int] = ..., audio_seq: _Optional[int] = ..., time_us: _Optional[int] = ..., confidence: _Optional[float] = ..., barge_in: _Optional[bool] = ..., speaker: _Optional[_Union[Speaker, str]] = ...) -> None: ...

class Pose(_message.Message):
    __slots__ = ("time_us", "has_fix", "latitude_deg", "longitude_deg", "horizontal_accuracy_m", "speed_mps", "has_heading", "heading_deg", "source")
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    HAS_FIX_FIELD_NUMBER: _ClassVar[int]
    LATITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    HORIZONTAL_ACCURACY_M_FIELD_NUMBER: _ClassVar[int]
    SPEED_MPS_FIELD_NUMBER: _ClassVar[int]
    HAS_HEADING_FIELD_NUMBER: _ClassVar[int]
    HEADING_DEG_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    time_us: int
    has_fix: bool
    latitude_deg: float
    longitude_deg: float
    horizontal_accuracy_m: float
    speed_mps: float
    has_heading: bool
    heading_deg: float
    source: str
    def __init__(self, time_us: _Optional[int] = ..., has_fix: _Optional[bool] = ..., latitude_deg: _Optional[float] = ..., longitude_deg: _Optional[float] = ..., horizontal_accuracy_m: _Optional[float] = ..., speed_mps: _Optional[float] = ..., has_heading: _Optional[bool] = ..., heading_deg: _Optional[float] = ..., source: _Optional[str] = ...) -> None: ...

class PlaybackEvent(_message.Message):
    __slots__ = ("kind", "response_id", "heard_samples", "time_us")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[PlaybackEvent.Kind]
        STARTED: _ClassVar[PlaybackEvent.Kind]
        FINISHED: _ClassVar[PlaybackEvent.Kind]
        INTERRUPTED: _ClassVar[PlaybackEvent.Kind]
    KIND_UNSPECIFIED: PlaybackEvent.Kind
    STARTED: PlaybackEvent.Kind
    FINISHED: PlaybackEvent.Kind
    INTERRUPTED: PlaybackEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    HEARD_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    kind: PlaybackEvent.Kind
    response_id: int
    heard_samples: int
    time_us: int
    def __init__(self, kind: _Optional[_Union[PlaybackEvent.Kind, str]] = ..., response_id: _Optional[int] = ..., heard_samples: _Optional[int] = ..., time_us: _Optional[int] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("response_id", "reason")
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    response_id: int
    reason: str
    def __init__(self, response_id: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Telemetry(_message.Message):
    __slots__ = ("battery_percent", "counters")
    class CountersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BATTERY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    battery_percent: int
    counters: _containers.ScalarMap[str, float]
    def __init__(self, battery_percent: _Optional[int] = ..., counters: _Optional[_Mapping[str, float]] = ...) -> None: ...

class SessionEnd(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class OverlapQuery(_message.Message):
    __slots__ = ("query_id", "first_seq", "last_seq")
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    query_id: int
    first_seq: int
    last_seq: int
    def __init__(self, query_id: _Optional[int] = ..., first_seq: _Optional[int] = ..., last_seq: _Optional[int] = ...) -> None: ...

class EdgeMessage(_message.Message):
    __slots__ = ("start", "audio", "turn", "playback", "cancel", "telemetry", "end", "overlap", "pose")
    START_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    TURN_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    POSE_FIELD_NUMBER: _ClassVar[int]
    start: SessionStart
    audio: AudioFrame
    turn: TurnEvent
    playback: PlaybackEvent
    cancel: CancelResponse
    telemetry: Telemetry
    end: SessionEnd
    overlap: OverlapQuery
    pose: Pose
    def __init__(self, start: _Optional[_Union[SessionStart, _Mapping]] = ..., audio: _Optional[_Union[AudioFrame, _Mapping]] = ..., turn: _Optional[_Union[TurnEvent, _Mapping]] = ..., playback: _Optional[_Union[PlaybackEvent, _Mapping]] = ..., cancel: _Optional[_Union[CancelResponse, _Mapping]] = ..., telemetry: _Optional[_Union[Telemetry, _Mapping]] = ..., end: _Optional[_Union[SessionEnd, _Mapping]] = ..., overlap: _Optional[_Union[OverlapQuery, _Mapping]] = ..., pose: _Optional[_Union[Pose, _Mapping]] = ...) -> None: ...

class SessionAccepted(_message.Message):
    __slots__ = ("session_id", "host_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    host_id: str
    def __init__(self, session_id: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class Transcript(_message.Message):
    __slots__ = ("turn_id", "text", "final")
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    turn_id: int
    text: str
    final: bool
    def __init__(self, turn_id: _Optional[int] = ..., text: _Optional[str] = ..., final: _Optional[bool] = ...) -> None: ...

class ResponseEvent(_message.Message):
    __slots__ = ("kind", "response_id", "turn_id", "text", "total_samples", "output")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[ResponseEvent.Kind]
        STARTED: _ClassVar[ResponseEvent.Kind]
        DONE: _ClassVar[ResponseEvent.Kind]
        CANCELLED: _ClassVar[ResponseEvent.Kind]
    KIND_UNSPECIFIED: ResponseEvent.Kind
    STARTED: ResponseEvent.Kind
    DONE: ResponseEvent.Kind
    CANCELLED: ResponseEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    kind: ResponseEvent.Kind
    response_id: int
    turn_id: int
    text: str
    total_samples: int
    output: Output
    def __init__(self, kind: _Optional[_Union[ResponseEvent.Kind, str]] = ..., response_id: _Optional[int] = ..., turn_id: _Optional[int] = ..., text: _Optional[str] = ..., total_samples: _Optional[int] = ..., output: _Optional[_Union[Output, str]] = ...) -> None: ...

class ResponseAudio(_message.Message):
    __slots__ = ("response_id", "seq", "opus")
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    OPUS_FIELD_NUMBER: _ClassVar[int]
    response_id: int
    seq: int
    opus: bytes
    def __init__(self, response_id: _Optional[int] = ..., seq: _Optional[int] = ..., opus: _Optional[bytes] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "fatal")
    class Code(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CODE_UNSPECIFIED: _ClassVar[Error.Code]
        BAD_REQUEST: _ClassVar[Error.Code]
        UNAUTHENTICATED: _ClassVar[Error.Code]
        UNSUPPORTED: _ClassVar[Error.Code]
        INTERNAL: _ClassVar[Error.Code]
        OVERLOADED: _ClassVar[Error.Code]
    CODE_UNSPECIFIED: Error.Code
    BAD_REQUEST: Error.Code
    UNAUTHENTICATED: Error.Code
    UNSUPPORTED: Error.Code
    INTERNAL: Error.Code
    OVERLOADED: Error.Code
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FATAL_FIELD_NUMBER: _ClassVar[int]
    code: Error.Code
    message: str
    fatal: bool
    def __init__(self, code: _Optional[_Union[Error.Code, str]] = ..., message: _Optional[str] = ..., fatal: _Optional[bool] = ...) -> None: ...

class TurnHint(_message.Message):
    __slots__ = ("turn_id", "audio_seq", "complete", "asr_confidence", "sure", "question")
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SEQ_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    ASR_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SURE_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    turn_id: int
    audio_seq: int
    complete: bool
    asr_confidence: float
    sure: bool
    question: bool
    def __init__(self, turn_id: _Optional[int] = ..., audio_seq: _Optional[int] = ..., complete: _Optional[bool] = ..., asr_confidence: _Optional[float] = ..., sure: _Optional[bool] = ..., question: _Optional[bool] = ...) -> None: ...

class OverlapVerdict(_message.Message):
    __slots__ = ("query_id", "kind", "text", "command")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[OverlapVerdict.Kind]
        BACKCHANNEL: _ClassVar[OverlapVerdict.Kind]
        INTERRUPTION: _ClassVar[OverlapVerdict.Kind]
        UNSURE: _ClassVar[OverlapVerdict.Kind]
    KIND_UNSPECIFIED: OverlapVerdict.Kind
    BACKCHANNEL: OverlapVerdict.Kind
    INTERRUPTION: OverlapVerdict.Kind
    UNSURE: OverlapVerdict.Kind
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    query_id: int
    kind: OverlapVerdict.Kind
    text: str
    command: bool
    def __init__(self, query_id: _Optional[int] = ..., kind: _Optional[_Union[OverlapVerdict.Kind, str]] = ..., text: _Optional[str] = ..., command: _Optional[bool] = ...) -> None: ...

class SetVolume(_message.Message):
    __slots__ = ("level_percent",)
    LEVEL_PERCENT_FIELD_NUMBER: _ClassVar[int]
    level_percent: int
    def __init__(self, level_percent: _Optional[int] = ...) -> None: ...

class HostMessage(_message.Message):
    __slots__ = ("accepted", "transcript", "response", "audio", "error", "hint", "overlap", "volume")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    accepted: SessionAccepted
    transcript: Transcript
    response: ResponseEvent
    audio: ResponseAudio
    error: Error
    hint: TurnHint
    overlap: OverlapVerdict
    volume: SetVolume
    def __init__(self, accepted: _Optional[_Union[SessionAccepted, _Mapping]] = ..., transcript: _Optional[_Union[Transcript, _Mapping]] = ..., response: _Optional[_Union[ResponseEvent, _Mapping]] = ..., audio: _Optional[_Union[ResponseAudio, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., hint: _Optional[_Union[TurnHint, _Mapping]] = ..., overlap: _Optional[_Union[OverlapVerdict, _Mapping]] = ..., volume: _Optional[_Union[SetVolume, _Mapping]] = ...) -> None: ...
