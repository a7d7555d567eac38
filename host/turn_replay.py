"""The turn ledger's inputs and decisions, recorded as JSON lines and replayed (after openpilot's
process replay): the same recorded inputs must give the same decisions, so a change to the ledger
that alters a real conversation's turns shows up as a failing replay, not in a live run.

A host records when ``sottovoce host --record-turns FILE`` (or ``$SOTTOVOCE_RECORD_TURNS``) is
given: one header line per conversation (its ledger config), then one line per turn event:

    {"stream": 1, "session": "abc", "ledger": {"preroll_ms": 300, ...}}
    {"stream": 1, "input": {"type": "SpeechStart", ...}, "decisions": [{"type": "Open", ...}]}

``stream`` numbers the conversations of one host run; conversations may interleave.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sottovoce.host.turn_ledger import (
    Abandoned,
    ConfirmedEnd,
    Decision,
    Discard,
    Drop,
    Interrupt,
    LedgerConfig,
    Open,
    Prepare,
    Reject,
    Release,
    Resumed,
    SpeechStart,
    TakeBack,
    TentativeEnd,
    TurnInput,
    TurnLedger,
)

RECORD_ENV = "SOTTOVOCE_RECORD_TURNS"

_INPUTS: dict[str, type] = {c.__name__: c for c in (SpeechStart, TentativeEnd, Resumed, ConfirmedEnd, Abandoned)}
_DECISIONS: dict[str, type] = {
    c.__name__: c for c in (TakeBack, Interrupt, Drop, Open, Prepare, Discard, Release, Reject)
}


class RecordError(ValueError):
    """A recording that cannot be read: the message says which line and why."""


@dataclass
class RecordedSession:
    session_id: str
    config: LedgerConfig
    steps: list[tuple[TurnInput, list[Decision]]] = field(default_factory=list)


def encode(item: Any) -> dict[str, Any]:
    """An input or decision as JSON: its fields, and its type's name under "type"."""
    return {"type": type(item).__name__, **dataclasses.asdict(item)}


def _value(hint: Any, value: Any) -> Any:
    if isinstance(hint, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = (o for o in options if o is not type(None))
        return _value(inner, value)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value)
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise RecordError(f"{value!r} is not an integer")
    if hint in (bool, str, float) and not isinstance(value, hint):
        raise RecordError(f"{value!r} is not a {hint.__name__}")
    return value


def _build(cls: type, obj: Any) -> Any:
    if not isinstance(obj, dict):
        raise RecordError(f"{cls.__name__} is not an object: {obj!r:.80}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(obj) - names - {"type"}
    if unknown:
        raise RecordError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in obj:
            try:
                values[f.name] = _value(hints[f.name], obj[f.name])
            except RecordError as exc:
                raise RecordError(f"{cls.__name__}.{f.name}: {exc}") from None
        elif f.default is dataclasses.MISSING:
            raise RecordError(f"{cls.__name__} without {f.name}")
    return cls(**values)


def _decode(kinds: dict[str, type], obj: Any) -> Any:
    name = obj.get("type") if isinstance(obj, dict) else None
    if name not in kinds:
        raise RecordError(f"not one of {sorted(kinds)}: {obj!r:.80}")
    return _build(kinds[name], obj)


def decode_input(obj: Any) -> TurnInput:
    return _decode(_INPUTS, obj)


def decode_decision(obj: Any) -> Decision:
    return _decode(_DECISIONS, obj)


def read_recording(text: str) -> list[RecordedSession]:
    """The conversations in a recording, in the order they started."""
    sessions: list[RecordedSession] = []
    by_stream: dict[int, RecordedSession] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise RecordError("not an object")
            stream = _value(int, obj.get("stream"))
            if "ledger" in obj:
                session_id = _value(str, obj.get("session"))
                by_stream[stream] = RecordedSession(session_id, _build(LedgerConfig, obj["ledger"]))
                sessions.append(by_stream[stream])
                continue
            if stream not in by_stream:
                raise RecordError(f"stream {stream} has no header line")
            decisions = obj.get("decisions")
            if not isinstance(decisions, list):
                raise RecordError("no list of decisions")
            step = (decode_input(obj.get("input")), [decode_decision(d) for d in decisions])
            by_stream[stream].steps.append(step)
        except (RecordError, json.JSONDecodeError, RecursionError) as exc:
            raise RecordError(f"line {number}: {exc}") from None
    return sessions


def replay(recorded: RecordedSession) -> list[list[Decision]]:
    """A fresh ledger's decisions for the recorded inputs, step by step."""
    ledger = TurnLedger(recorded.config)
    return [ledger.feed(event) for event, _ in recorded.steps]


class TurnRecorder:
    """Appends every conversation's ledger steps to one JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO = path.open("a", buffering=1)  # whole lines, even if the host is killed
        self._streams = 0

    def session(self, session_id: str, config: LedgerConfig) -> typing.Callable[[TurnInput, list[Decision]], None]:
        """Start recording one conversation; the observer to hand its ledger steps to."""
        self._streams += 1
        stream = self._streams
        self._write({"stream": stream, "session": session_id, "ledger": dataclasses.asdict(config)})

        def observe(event: TurnInput, decisions: list[Decision]) -> None:
            self._write({"stream": stream, "input": encode(event), "decisions": [encode(d) for d in decisions]})

        return observe

    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._file.close()
