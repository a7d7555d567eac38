from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper

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
CODEC_UNSPECIFIED: Codec
CODEC_OPUS: Codec
MODE_UNSPECIFIED: Mode
MODE_ASSISTANT: Mode
MODE_TRANSLATION: Mode
MODE_NAVIGATION: Mode

class SessionStart(_message.Message):
    __slots__ = ("auth_token", "codec", "device_id", "frame_ms", "language", "mode", "protocol_version", "sample_rate_hz", "session_id", "target_language")
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
    def __init__(self, protocol_version: int | None = ..., auth_token: str | None = ..., codec: Codec | str | None = ..., sample_rate_hz: int | None = ..., frame_ms: int | None = ..., mode: Mode | str | None = ..., device_id: str | None = ..., language: str | None = ..., target_language: str | None = ..., session_id: str | None = ...) -> None: ...

class AudioFrame(_message.Message):
    __slots__ = ("capture_time_us", "opus", "seq")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    OPUS_FIELD_NUMBER: _ClassVar[int]
    seq: int
    capture_time_us: int
    opus: bytes
    def __init__(self, seq: int | None = ..., capture_time_us: int | None = ..., opus: bytes | None = ...) -> None: ...

class TurnEvent(_message.Message):
    __slots__ = ("audio_seq", "barge_in", "confidence", "kind", "time_us", "turn_id")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[TurnEvent.Kind]
        SPEECH_START: _ClassVar[TurnEvent.Kind]
        TENTATIVE_END: _ClassVar[TurnEvent.Kind]
        CONFIRMED_END: _ClassVar[TurnEvent.Kind]
        RESUMED: _ClassVar[TurnEvent.Kind]
    KIND_UNSPECIFIED: TurnEvent.Kind
    SPEECH_START: TurnEvent.Kind
    TENTATIVE_END: TurnEvent.Kind
    CONFIRMED_END: TurnEvent.Kind
    RESUMED: TurnEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_US_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BARGE_IN_FIELD_NUMBER: _ClassVar[int]
    kind: TurnEvent.Kind
    turn_id: int
    audio_seq: int
    time_us: int
    confidence: float
    barge_in: bool
    def __init__(self, kind: TurnEvent.Kind | str | None = ..., turn_id: int | None = ..., audio_seq: int | None = ..., time_us: int | None = ..., confidence: float | None = ..., barge_in: bool | None = ...) -> None: ...

class PlaybackEvent(_message.Message):
    __slots__ = ("heard_samples", "kind", "response_id", "time_us")
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
    def __init__(self, kind: PlaybackEvent.Kind | str | None = ..., response_id: int | None = ..., heard_samples: int | None = ..., time_us: int | None = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("reason", "response_id")
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    response_id: int
    reason: str
    def __init__(self, response_id: int | None = ..., reason: str | None = ...) -> None: ...

class Telemetry(_message.Message):
    __slots__ = ("battery_percent", "counters")
    class CountersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: str | None = ..., value: float | None = ...) -> None: ...
    BATTERY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    battery_percent: int
    counters: _containers.ScalarMap[str, float]
    def __init__(self, battery_percent: int | None = ..., counters: _Mapping[str, float] | None = ...) -> None: ...

class SessionEnd(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: str | None = ...) -> None: ...

class EdgeMessage(_message.Message):
    __slots__ = ("audio", "cancel", "end", "playback", "start", "telemetry", "turn")
    START_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    TURN_FIELD_NUMBER: _ClassVar[int]
    PLAYBACK_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: SessionStart
    audio: AudioFrame
    turn: TurnEvent
    playback: PlaybackEvent
    cancel: CancelResponse
    telemetry: Telemetry
    end: SessionEnd
    def __init__(self, start: SessionStart | _Mapping | None = ..., audio: AudioFrame | _Mapping | None = ..., turn: TurnEvent | _Mapping | None = ..., playback: PlaybackEvent | _Mapping | None = ..., cancel: CancelResponse | _Mapping | None = ..., telemetry: Telemetry | _Mapping | None = ..., end: SessionEnd | _Mapping | None = ...) -> None: ...

class SessionAccepted(_message.Message):
    __slots__ = ("host_id", "session_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    host_id: str
    def __init__(self, session_id: str | None = ..., host_id: str | None = ...) -> None: ...

class Transcript(_message.Message):
    __slots__ = ("final", "text", "turn_id")
    TURN_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    turn_id: int
    text: str
    final: bool
    def __init__(self, turn_id: int | None = ..., text: str | None = ..., final: bool | None = ...) -> None: ...

class ResponseEvent(_message.Message):
    __slots__ = ("kind", "response_id", "text", "total_samples", "turn_id")
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
    kind: ResponseEvent.Kind
    response_id: int
    turn_id: int
    text: str
    total_samples: int
    def __init__(self, kind: ResponseEvent.Kind | str | None = ..., response_id: int | None = ..., turn_id: int | None = ..., text: str | None = ..., total_samples: int | None = ...) -> None: ...

class ResponseAudio(_message.Message):
    __slots__ = ("opus", "response_id", "seq")
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    OPUS_FIELD_NUMBER: _ClassVar[int]
    response_id: int
    seq: int
    opus: bytes
    def __init__(self, response_id: int | None = ..., seq: int | None = ..., opus: bytes | None = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "fatal", "message")
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
    def __init__(self, code: Error.Code | str | None = ..., message: str | None = ..., fatal: bool | None = ...) -> None: ...

class HostMessage(_message.Message):
    __slots__ = ("accepted", "audio", "error", "response", "transcript")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    accepted: SessionAccepted
    transcript: Transcript
    response: ResponseEvent
    audio: ResponseAudio
    error: Error
    def __init__(self, accepted: SessionAccepted | _Mapping | None = ..., transcript: Transcript | _Mapping | None = ..., response: ResponseEvent | _Mapping | None = ..., audio: ResponseAudio | _Mapping | None = ..., error: Error | _Mapping | None = ...) -> None: ...
