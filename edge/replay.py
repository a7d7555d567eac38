"""Recording the turn arbiter's inputs and decisions, and replaying them.

``sottovoce edge --record FILE`` writes, as JSON lines, the arbiter's settings and then every
input it was fed, each followed by the decisions it gave::

    {"arbiter": "turn", "version": 1, "policy": "model", "settings": {...}, "barge_in_ms": 200,
     "overlaps": {"max_overlap_ms": 700, "verdict_wait_ms": 400, "max_backchannel_ms": 1500}}
    {"in": "frame", "seq": 812, "speech": 0.0123, "end": 0.97}
    {"out": "tentative_end", "turn_id": 3, "seq": 812, "confidence": 0.97}

Since the arbiter is pure, feeding the recorded inputs to a fresh arbiter with the recorded
settings must give the recorded decisions, whatever the VAD, the model or the host did at the
time: a replay test pins the arbiter's behaviour on real runs (``tests/replay/``). A recording
without ``overlaps`` is of an arbiter that decided speech over an answer by its length alone; one
whose ``overlaps`` has no ``max_backchannel_ms`` replays with its default.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from sottovoce.proto.events import EventLogError, decode_dataclass, decode_record, encode_record, read_json_lines

from .arbiter import DECISIONS, INPUTS, Decision, Input, OverlapRules, TurnArbiter
from .end_rules import POLICIES, ModelPolicy, SilencePolicy

VERSION = 1
_INPUTS = {cls.KIND: cls for cls in INPUTS}
_DECISIONS = {cls.KIND: cls for cls in DECISIONS}


@dataclass(frozen=True)
class Step:
    """One input and the decisions it gave."""

    input: Input
    decisions: list[Decision]


@dataclass(frozen=True)
class Recording:
    policy: ModelPolicy | SilencePolicy
    barge_in_ms: int
    steps: list[Step]
    overlaps: OverlapRules | None = None


class ArbiterRecorder:
    """Writes an arbiter's settings once, then each input with its decisions (line-buffered, so a
    run that is killed keeps what it recorded)."""

    def __init__(self, path: Path, arbiter: TurnArbiter) -> None:
        policy = arbiter.policy
        if not isinstance(policy, (ModelPolicy, SilencePolicy)):
            raise TypeError(f"cannot record the policy {policy!r}")
        self._file = path.open("w", buffering=1, encoding="utf-8")
        header = {"arbiter": "turn", "version": VERSION, "policy": policy.NAME,
                  "settings": dataclasses.asdict(policy), "barge_in_ms": arbiter.barge_in_ms}  # fmt: skip
        if arbiter.overlaps is not None:
            header["overlaps"] = dataclasses.asdict(arbiter.overlaps)
        self._file.write(json.dumps(header) + "\n")

    def record(self, event: Input, decisions: list[Decision]) -> None:
        lines = [encode_record(event, "in", event.KIND)] + [encode_record(d, "out", d.KIND) for d in decisions]
        self._file.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._file.close()


def read_recording(path: Path) -> Recording:
    """A recording written by ``ArbiterRecorder``; EventLogError names the line of anything else."""
    policy: ModelPolicy | SilencePolicy | None = None
    barge_in_ms = 0
    overlaps: OverlapRules | None = None
    steps: list[Step] = []
    for where, raw in read_json_lines(path):
        if policy is None:
            policy, barge_in_ms, overlaps = _header(raw, where)
        elif "in" in raw:
            steps.append(Step(_decode(raw, "in", _INPUTS, where), []))
        elif "out" in raw and steps:
            steps[-1].decisions.append(_decode(raw, "out", _DECISIONS, where))
        else:
            raise EventLogError(f"{where}: neither an input nor a decision after one")
    if policy is None:
        raise EventLogError(f"{path}: empty")
    return Recording(policy, barge_in_ms, steps, overlaps)


def _decode(raw: dict, tag: str, classes: dict, where: str):
    try:
        return decode_record(raw, tag, classes, where)
    except EventLogError:
        raise
    except ValueError as exc:  # a record's own checks (an overlap verdict not among those known, ...)
        raise EventLogError(f"{where}: {exc}") from None


def _header(raw: dict, where: str) -> tuple[ModelPolicy | SilencePolicy, int, OverlapRules | None]:
    if raw.get("arbiter") != "turn" or raw.get("version") != VERSION:
        raise EventLogError(f"{where}: not a version {VERSION} turn arbiter recording")
    name, barge_in_ms = raw.get("policy"), raw.get("barge_in_ms")
    if name not in POLICIES:
        raise EventLogError(f"{where}: unknown policy {name!r}")
    if not isinstance(barge_in_ms, int) or isinstance(barge_in_ms, bool):
        raise EventLogError(f"{where}: barge_in_ms {barge_in_ms!r} is not an integer")
    try:
        policy = decode_dataclass(POLICIES[name], raw.get("settings"), where)
        overlaps = None if raw.get("overlaps") is None else decode_dataclass(OverlapRules, raw["overlaps"], where)
    except EventLogError:
        raise
    except ValueError as exc:  # the policy's and the rules' own checks (thresholds out of range, ...)
        raise EventLogError(f"{where}: {exc}") from None
    return policy, barge_in_ms, overlaps


def replay(recording: Recording) -> list[Step]:
    """The recorded inputs through a fresh arbiter with the recorded settings."""
    arbiter = TurnArbiter(recording.policy, recording.barge_in_ms, recording.overlaps)
    return [Step(step.input, arbiter.feed(step.input)) for step in recording.steps]
