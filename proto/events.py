"""The written schema of what the programs record: the edge's event log and the simulator's events.

Each event is a dataclass; the files are JSON and their layout follows the dataclasses field by
field, so the files stay readable by eye and by ``jq`` while every program reads them back
through ``read_events`` / ``read_sim_events`` as typed objects, never as free-form dicts.

The edge's event log (``sottovoce edge --events FILE``): JSON lines, one event each, in the
order they happened::

    {"t": 12.3456, "event": "turn", "kind": "confirmed_end", "turn_id": 3, "seq": 812, ...}

``t`` is the edge's monotonic clock in seconds (comparable within one run only), ``event`` names
the class (its ``EVENT``), the other keys are the class's fields. Sequence numbers (``seq``) are
uplink frames (``sottovoce.proto.timeline.AUDIO_SEQ``); samples are 16 kHz.

The simulator's events (``sim_events.json``, written with ``mic.wav`` and ``ear.wav``): one JSON
document, ``SimEvents``, its times in seconds on the recordings' timeline (sample n of both
tracks is at n / 16000 s), so every latency measured from it is what the wearer experiences.

Readers raise ``EventLogError`` naming the file and line for anything that does not follow the
schema: a missing or unknown field, a value of the wrong type, an unknown event.
"""

from __future__ import annotations

import gzip
import json
import time
import types
import typing
import zlib
from collections.abc import Callable, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")


class EventLogError(ValueError):
    """A recorded file that does not follow the schema (names the file and line)."""


# --- the edge's event log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeEvent:
    """Every edge event: ``t`` is set by the writer (the edge's monotonic clock, seconds)."""

    EVENT: ClassVar[str] = ""
    t: float = field(default=0.0, kw_only=True)


@dataclass(frozen=True)
class EdgeStarted(EdgeEvent):
    """The options the edge runs with (never a secret: the auth token is not among them)."""

    EVENT: ClassVar[str] = "edge_started"
    config: dict[str, str]


@dataclass(frozen=True)
class EdgeStopped(EdgeEvent):
    """Every counter of every component, by ``component.counter``."""

    EVENT: ClassVar[str] = "edge_stopped"
    counters: dict[str, int]


@dataclass(frozen=True)
class DeviceConnected(EdgeEvent):
    EVENT: ClassVar[str] = "device_connected"
    description: str
    att_mtu: int


@dataclass(frozen=True)
class DeviceDisconnected(EdgeEvent):
    EVENT: ClassVar[str] = "device_disconnected"


@dataclass(frozen=True)
class Battery(EdgeEvent):
    EVENT: ClassVar[str] = "battery"
    percent: int


@dataclass(frozen=True)
class Button(EdgeEvent):
    EVENT: ClassVar[str] = "button"
    kind: str  # tap, double_tap, long_press, press, release


@dataclass(frozen=True)
class Gesture(EdgeEvent):
    EVENT: ClassVar[str] = "gesture"
    kind: str  # nod, shake, ...


@dataclass(frozen=True)
class SpeechDuringPlayback(EdgeEvent):
    """Speech began at frame ``seq`` while an answer played: not yet known to be an interruption."""

    EVENT: ClassVar[str] = "speech_during_playback"
    seq: int


@dataclass(frozen=True)
class AnswerDucked(EdgeEvent):
    """The answer ``response_id`` (None: none was playing any more) was brought down: the wearer
    may be speaking from frame ``seq``."""

    EVENT: ClassVar[str] = "answer_ducked"
    seq: int
    response_id: int | None


@dataclass(frozen=True)
class AnswerHeld(EdgeEvent):
    """The answer ``response_id`` (None: none was playing any more) was held where it is: speech
    began at frame ``seq`` over it, not yet known to be an interruption."""

    EVENT: ClassVar[str] = "answer_held"
    seq: int
    response_id: int | None


@dataclass(frozen=True)
class AnswerRestored(EdgeEvent):
    """The answer ``response_id`` was brought back: what ducked it ended at frame ``seq`` and was no
    interruption."""

    EVENT: ClassVar[str] = "answer_restored"
    seq: int
    response_id: int | None


@dataclass(frozen=True)
class BackchannelIgnored(EdgeEvent):
    """Speech during an answer ended (at frame ``seq``) too short to interrupt it."""

    EVENT: ClassVar[str] = "backchannel_ignored"
    seq: int


@dataclass(frozen=True)
class Turn(EdgeEvent):
    """A turn event sent to the host: ``kind`` speech_start (``seq`` the onset frame),
    tentative_end, resumed or confirmed_end (``reason``: what decided it)."""

    EVENT: ClassVar[str] = "turn"
    kind: str
    turn_id: int
    seq: int
    barge_in: bool = False
    reason: str = ""
    speaker: str = "wearer"  # whose voice: wearer | other (translation mode's person in front of the wearer)


@dataclass(frozen=True)
class BargeIn(EdgeEvent):
    """The wearer interrupted the answer ``response_id`` (None: none was playing any more);
    ``detect_s`` from the onset of their speech to the decision, on the edge's clock."""

    EVENT: ClassVar[str] = "barge_in"
    response_id: int | None
    stream: int | None
    detect_s: float


@dataclass(frozen=True)
class HostState(EdgeEvent):
    EVENT: ClassVar[str] = "host_state"
    up: bool
    detail: str


@dataclass(frozen=True)
class Cue(EdgeEvent):
    """The edge played a sound of its own to say the wearer was not heard (``reason``:
    host_unreachable, device_lost)."""

    EVENT: ClassVar[str] = "cue"
    reason: str


@dataclass(frozen=True)
class Transcript(EdgeEvent):
    """The host's final transcript of a turn."""

    EVENT: ClassVar[str] = "transcript"
    turn_id: int
    text: str


@dataclass(frozen=True)
class TurnHint(EdgeEvent):
    """The host's reading of the words of a turn up to frame ``seq``, as received."""

    EVENT: ClassVar[str] = "turn_hint"
    turn_id: int
    seq: int
    complete: bool
    sure: bool
    question: bool


@dataclass(frozen=True)
class OverlapAsked(EdgeEvent):
    """Speech over an answer, frames ``first_seq``..``last_seq``, sent to the host to be read."""

    EVENT: ClassVar[str] = "overlap_asked"
    query_id: int
    first_seq: int
    last_seq: int


@dataclass(frozen=True)
class OverlapRead(EdgeEvent):
    """The host's reading of overlap ``query_id`` as received: ``verdict`` backchannel,
    interruption or unsure, and the words it heard; ``command``: they begin with a command to stop."""

    EVENT: ClassVar[str] = "overlap_read"
    query_id: int
    verdict: str
    text: str
    command: bool = False


@dataclass(frozen=True)
class OverlapDecided(EdgeEvent):
    """What decided overlap ``query_id`` (the arbiter's ``OverlapFiled``): the reading, or the
    length when the reading was ``unsure``, ``late``, ``host_down`` or the wearer ``went_on``;
    ``stale`` for a reading that came after."""

    EVENT: ClassVar[str] = "overlap_decided"
    query_id: int
    verdict: str


@dataclass(frozen=True)
class HostError(EdgeEvent):
    EVENT: ClassVar[str] = "host_error"
    code: str
    message: str


@dataclass(frozen=True)
class ResponseDropped(EdgeEvent):
    """An answer to an old turn (the wearer has spoken since): cancelled, never played."""

    EVENT: ClassVar[str] = "response_dropped"
    response_id: int
    turn_id: int


@dataclass(frozen=True)
class ResponseStarted(EdgeEvent):
    """An answer (``turn_id`` 0: proactive, not an answer to a turn) and the device stream that
    plays it (``stream``: the ``SimPlayback.stream`` of the simulator's events)."""

    EVENT: ClassVar[str] = "response_started"
    response_id: int
    turn_id: int
    stream: int
    text: str
    output: str = "ear"  # ear | outward (said aloud for the person in front of the wearer)


@dataclass(frozen=True)
class ResponseDone(EdgeEvent):
    """The host has sent the whole answer: ``samples`` long, saying ``text`` (all of it: a model's
    answer is still being written when it starts, so ResponseStarted may carry only its opening)."""

    EVENT: ClassVar[str] = "response_done"
    response_id: int
    samples: int
    text: str = ""


@dataclass(frozen=True)
class ResponseCancelled(EdgeEvent):
    EVENT: ClassVar[str] = "response_cancelled"
    response_id: int
    text: str


@dataclass(frozen=True)
class Playback(EdgeEvent):
    """The device's playback of a response: ``kind`` started, finished or interrupted, with the
    samples heard so far; or ducked or restored, a level change starting after ``heard_samples``."""

    EVENT: ClassVar[str] = "playback"
    kind: str
    response_id: int
    heard_samples: int


EDGE_EVENTS: dict[str, type[EdgeEvent]] = {
    cls.EVENT: cls
    for cls in (EdgeStarted, EdgeStopped, DeviceConnected, DeviceDisconnected, Battery, Button, Gesture,
                SpeechDuringPlayback, AnswerDucked, AnswerHeld, AnswerRestored, BackchannelIgnored, Turn, BargeIn,
                HostState, Cue, Transcript, TurnHint, OverlapAsked, OverlapRead, OverlapDecided, HostError,
                ResponseDropped, ResponseStarted, ResponseDone, ResponseCancelled, Playback)
}  # fmt: skip


class EventLog:
    """The edge's event log: one JSON line per event, on ``clock`` (the edge's monotonic clock).
    Without a path it records nothing."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._file = path.open("w", buffering=1) if path else None
        self._clock = clock

    def write(self, event: EdgeEvent) -> None:
        if self._file:
            self._file.write(encode_record(event, "event", event.EVENT, t=round(self._clock(), 4)) + "\n")

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


def read_events(path: Path) -> list[EdgeEvent]:
    """The edge's event log as typed events, in order."""
    return list(read_records(path, "event", EDGE_EVENTS))


def of_type(events: list[EdgeEvent], cls: type[T]) -> list[T]:
    """The events of one class, in order."""
    return [e for e in events if isinstance(e, cls)]


# --- the simulator's events -------------------------------------------------------------------------


@dataclass(frozen=True)
class SimUtterance:
    """What the wearer said, when (ground truth), and what released it."""

    index: int
    text: str
    start_s: float
    end_s: float  # the end of the last sample of speech
    barge_in: bool
    trigger: str  # the anchor that released it, or "timeout(<anchor>)"
    expects_reply: bool = True  # False: said to stop the assistant, not to ask it anything ("Stop.")
    speaker: str = "wearer"  # or "other": the person in front of the wearer
    language: str | None = None  # the language it was said in (None: the wearer's)


@dataclass(frozen=True)
class SimDuck:
    """A change of a stream's level at the ear: a linear ramp from ``from_db`` to ``depth_db`` below
    full level (0: full) over ``ramp_s``, from ``at_s`` (``sottovoce.proto.gatt.speaker.ramp_gains``)."""

    at_s: float
    from_db: float
    depth_db: int
    ramp_s: float
    queued_frames: int  # in the device's buffer when the command came: a duck in the downlink could not reach them


@dataclass(frozen=True)
class SimHold:
    """A hold of a stream: a ramp from ``from_db`` below full level to silence over ``ramp_s`` from
    ``at_s``; it stopped where it was at ``held_s`` and went on at ``resumed_s`` (None: never did,
    or it never stopped)."""

    at_s: float
    from_db: float
    ramp_s: float
    held_s: float | None
    resumed_s: float | None


@dataclass(frozen=True)
class SimPlayback:
    """One response stream as heard at the ear (only streams with at least one sample played)."""

    stream: int
    start_s: float  # first sample played
    end_s: float  # end of the last sample played
    ended: str | None  # finished (played to its announced end) | flushed | superseded | cut (run over)
    flush_received_s: float | None
    samples: int  # samples played
    ducks: list[SimDuck] = field(default_factory=list)  # its level changes, in order
    holds: list[SimHold] = field(default_factory=list)  # the times it was held where it was, in order


@dataclass(frozen=True)
class SimUnplayed:
    """A stream dropped before its first sample."""

    stream: int
    ended: str | None
    flush_received_s: float | None


@dataclass(frozen=True)
class SimAction:
    """A button press or head gesture the scenario fired."""

    kind: str
    at_s: float
    trigger: str


@dataclass
class SimDisconnect:
    """A scheduled link drop; the simulator fills ``reconnected_s`` in when the central is back."""

    at_s: float
    duration_s: float
    reconnected_s: float | None = None
    skipped: str = ""  # why it did not happen ("not connected")


@dataclass(frozen=True)
class SimEvents:
    sample_rate: int
    duration_s: float
    utterances: list[SimUtterance]
    playback: list[SimPlayback]
    unplayed: list[SimUnplayed]
    buttons: list[SimAction]
    gestures: list[SimAction]
    disconnects: list[SimDisconnect]
    counters: dict[str, Any]  # per component (firmware, clock, link, speaker, ...)
    outward: list[SimPlayback] = field(default_factory=list)  # streams heard from the outward speaker


def write_sim_events(path: Path, events: SimEvents) -> None:
    path.write_text(json.dumps(asdict(events), indent=2) + "\n", encoding="utf-8")


def read_sim_events(path: Path) -> SimEvents:
    where = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EventLogError(f"{where}: {exc}") from None
    return decode_dataclass(SimEvents, raw, where)


# --- typed JSON records (shared by the readers and writers here and the arbiter's recordings) ------


def encode_record(obj: Any, tag: str, name: str, **first: Any) -> str:
    """One JSON line: ``first`` keys, then ``tag`` = ``name``, then the dataclass's fields."""
    body = {k: v for k, v in asdict(obj).items() if k not in first}
    return json.dumps({**first, tag: name, **body})


def read_records(path: Path, tag: str, classes: dict[str, type[T]]) -> Iterator[T]:
    """Typed records from a JSON-lines file, by the class ``classes[line[tag]]``."""
    for where, raw in read_json_lines(path):
        yield decode_record(raw, tag, classes, where)


def read_json_lines(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file:line, the JSON object) for each non-empty line (of the gzip-compressed file, for a
    name ending in .gz: recordings kept in the repository are)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as f:
                text = f.read()
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise EventLogError(f"{path}: {exc}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise EventLogError(f"{where}: not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise EventLogError(f"{where}: not a JSON object")
        yield where, raw


def decode_record(raw: dict[str, Any], tag: str, classes: dict[str, type[T]], where: str) -> T:
    """The record ``raw`` as the class its ``tag`` names."""
    body = dict(raw)
    name = body.pop(tag, None)
    if not isinstance(name, str) or name not in classes:
        raise EventLogError(f"{where}: unknown {tag} {name!r}")
    return decode_dataclass(classes[name], body, where)


def decode_dataclass(cls: type[T], raw: Any, where: str) -> T:
    """``cls`` from its JSON form, every field checked against its annotation."""
    if not isinstance(raw, dict):
        raise EventLogError(f"{where}: {cls.__name__} is not a JSON object")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(known))
    missing = sorted(n for n, f in known.items() if n not in raw and f.default is MISSING
                     and f.default_factory is MISSING)  # fmt: skip
    if unknown or missing:
        raise EventLogError(f"{where}: {cls.__name__}: " + "; ".join(
            ([f"unknown field(s) {unknown}"] if unknown else []) + ([f"missing field(s) {missing}"] if missing else [])
        ))  # fmt: skip
    values = {name: _value(hints[name], value, f"{where}: {cls.__name__}.{name}") for name, value in raw.items()}
    return cls(**values)


def _value(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        for option in typing.get_args(hint):
            try:
                return _value(option, value, where)
            except EventLogError:
                continue
        raise EventLogError(f"{where}: {value!r} is not {hint}")
    if hint is Any:
        return value
    if hint is type(None):
        if value is not None:
            raise EventLogError(f"{where}: {value!r} is not null")
        return None
    if origin is list:
        if not isinstance(value, list):
            raise EventLogError(f"{where}: {value!r} is not a list")
        (item,) = typing.get_args(hint)
        return [_value(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise EventLogError(f"{where}: {value!r} is not an object")
        _, item = typing.get_args(hint)
        return {k: _value(item, v, f"{where}.{k}") for k, v in value.items()}
    if is_dataclass(hint):
        return decode_dataclass(hint, value, where)
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else _wrong(value, "a number", where)
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _wrong(value, "an integer", where)
    if hint in (str, bool):
        return value if isinstance(value, hint) else _wrong(value, hint.__name__, where)
    raise TypeError(f"{where}: no JSON form for {hint}")


def _wrong(value: Any, what: str, where: str) -> Any:
    raise EventLogError(f"{where}: {value!r} is not {what}")
