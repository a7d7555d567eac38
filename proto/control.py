"""CBOR control messages on the Sottovoce control characteristic (schema: ``control.cddl``).

Every message is one CBOR map with a text key ``"t"`` naming its type. Decoding is strict about
what it relies on (types, ranges, required keys) and lenient about the rest: unknown keys are
ignored so a newer peer can add fields. Anything else raises ``ControlError``. On the GATT
characteristic a message crosses in fragments (``proto/gatt/speaker.py``), whole on a serial link.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cbor2

MAX_MESSAGE_BYTES = 512  # well over the largest message; bounds what a peer can make us parse

U8 = (0, 0xFF)
U32 = (0, 0xFFFF_FFFF)
U64 = (0, 0xFFFF_FFFF_FFFF_FFFF)
PERCENT = (0, 100)
DUCK_DB = (0, 60)  # attenuation; 60 dB is as good as silence at the ear
RAMP_MS = (0, 1000)
GESTURE_KINDS = ("nod", "shake", "tilt", "double_tap")  # head gestures the device recognises


class ControlError(ValueError):
    """Bytes that are not a valid control message."""


def _uint(bounds: tuple[int, int]) -> Any:
    return field(metadata={"range": bounds})


def _choice(*values: str) -> Any:
    return field(metadata={"choices": values})


@dataclass(frozen=True)
class ControlMessage:
    TYPE: ClassVar[str] = ""

    def encode(self) -> bytes:
        body = {"t": self.TYPE, **dataclasses.asdict(self)}
        return cbor2.dumps(body)


# --- edge -> device -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flush(ControlMessage):
    """Stop playing ``stream`` now and drop what is queued; answered by PlaybackReport 'flushed'."""

    TYPE: ClassVar[str] = "flush"
    stream: int = _uint(U8)


@dataclass(frozen=True)
class StreamEnd(ControlMessage):
    """No more frames follow for ``stream``: once ``frames`` have played, it has finished."""

    TYPE: ClassVar[str] = "end"
    stream: int = _uint(U8)
    frames: int = _uint(U32)


@dataclass(frozen=True)
class Duck(ControlMessage):
    """Bring ``stream`` to ``depth_db`` below its level (0: back to full level) over ``ramp_ms``,
    starting at the next sample played; answered by PlaybackReport 'ducked' or 'restored'.

    With ``hold`` the stream ramps to silence instead and then stops consuming its buffer at the
    end of the frame the ramp ends in, keeping its position (answered by 'held' once it has
    stopped); a restore (``depth_db`` 0, no ``hold``) resumes it from exactly there. A duck to
    some depth leaves a held stream held: it is silent already, and the wearer may still be
    speaking. A held stream reports no underruns: it is not starved, it waits.

    The device applies it because it is the last stage before the ear: frames already in its
    buffer are ducked too, which no change to the downlink could do."""

    TYPE: ClassVar[str] = "duck"
    stream: int = _uint(U8)
    depth_db: int = _uint(DUCK_DB)
    ramp_ms: int = _uint(RAMP_MS)
    hold: bool = False  # optional on the wire: absent means False


@dataclass(frozen=True)
class SetVolume(ControlMessage):
    TYPE: ClassVar[str] = "volume"
    level: int = _uint(PERCENT)


@dataclass(frozen=True)
class SetWhisper(ControlMessage):
    TYPE: ClassVar[str] = "whisper"
    on: bool


@dataclass(frozen=True)
class SetMute(ControlMessage):
    """Mute the microphone (privacy); the device sends no audio while muted."""

    TYPE: ClassVar[str] = "mute"
    on: bool


@dataclass(frozen=True)
class TimeSyncRequest(ControlMessage):
    TYPE: ClassVar[str] = "time_req"
    t0: int = _uint(U64)  # edge clock, µs


# --- device -> edge -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybackReport(ControlMessage):
    """Playback lifecycle at exact sample positions of the stream (16 kHz samples played)."""

    TYPE: ClassVar[str] = "playback"
    event: str = _choice("started", "finished", "flushed", "underrun", "ducked", "restored", "held")
    stream: int = _uint(U8)
    sample: int = _uint(U32)
    at: int = _uint(U64)  # device clock, µs


@dataclass(frozen=True)
class BufferReport(ControlMessage):
    """Flow control: frames queued in the device's playback buffer and room left."""

    TYPE: ClassVar[str] = "buffer"
    stream: int = _uint(U8)
    queued: int = _uint(U32)
    free: int = _uint(U32)
    played: int = _uint(U32)  # samples of ``stream`` played so far


@dataclass(frozen=True)
class Gesture(ControlMessage):
    TYPE: ClassVar[str] = "gesture"
    kind: str = _choice(*GESTURE_KINDS)
    at: int = _uint(U64)


@dataclass(frozen=True)
class TimeSyncResponse(ControlMessage):
    TYPE: ClassVar[str] = "time_resp"
    t0: int = _uint(U64)  # echoed edge clock
    t1: int = _uint(U64)  # device clock when the request arrived


MESSAGE_TYPES: dict[str, type[ControlMessage]] = {
    cls.TYPE: cls
    for cls in (
        Flush,
        StreamEnd,
        Duck,
        SetVolume,
        SetWhisper,
        SetMute,
        TimeSyncRequest,
        PlaybackReport,
        BufferReport,
        Gesture,
        TimeSyncResponse,
    )
}


def decode(data: bytes) -> ControlMessage:
    """Parse one control message, or raise ControlError saying what is wrong with it."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ControlError(f"control message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        body = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types for bad input
        raise ControlError(f"not CBOR: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError(f"control message must be a CBOR map, got {type(body).__name__}")
    kind = body.get("t")
    cls = MESSAGE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ControlError(f"unknown control message type {kind!r}")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in body:
            if f.default is not dataclasses.MISSING:  # an optional key, added after the first peers
                continue
            raise ControlError(f"{kind}: missing key {f.name!r}")
        values[f.name] = _check(kind, f, body[f.name])
    return cls(**values)


def _check(kind: str, f: dataclasses.Field, value: Any) -> Any:
    if "range" in f.metadata:
        lo, hi = f.metadata["range"]
        if type(value) is not int or not lo <= value <= hi:
            raise ControlError(f"{kind}.{f.name} must be an integer in [{lo}, {hi}], got {value!r}")
    elif "choices" in f.metadata:
        if value not in f.metadata["choices"] or type(value) is not str:
            raise ControlError(f"{kind}.{f.name} must be one of {f.metadata['choices']}, got {value!r}")
    elif f.type in ("bool", bool):
        if type(value) is not bool:
            raise ControlError(f"{kind}.{f.name} must be a boolean, got {value!r}")
    return value
