"""The written schema of the edge's event log and the simulator's events (``proto.events``): every
event survives its file, and nothing but a schema error comes out of a reader, whatever it reads."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sottovoce.proto import events

FINITE = st.floats(allow_nan=False, allow_infinity=False)


def _instances(cls: type) -> st.SearchStrategy:
    """Instances of an event class with any JSON-faithful values (finite floats)."""
    hints = typing.get_type_hints(cls)
    floats = {f.name: FINITE for f in dataclasses.fields(cls) if f.init and f.name != "t" and hints[f.name] is float}
    optional = {f.name: st.none() | FINITE for f in dataclasses.fields(cls) if hints[f.name] == float | None}
    return st.builds(cls, **floats, **optional)


ANY_EDGE_EVENT = st.one_of([_instances(cls) for cls in events.EDGE_EVENTS.values()])


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=st.lists(ANY_EDGE_EVENT, max_size=8))
def test_every_edge_event_reads_back_as_written(tmp_path, written):
    path = tmp_path / "events.jsonl"
    clock = iter(range(1000))
    log = events.EventLog(path, clock=lambda: float(next(clock)))
    for event in written:
        log.write(event)
    log.close()
    assert events.read_events(path) == [dataclasses.replace(e, t=float(i)) for i, e in enumerate(written)]


def test_the_log_is_json_lines_with_the_time_and_the_event_name_first(tmp_path):
    path = tmp_path / "events.jsonl"
    log = events.EventLog(path, clock=lambda: 12.34567)
    log.write(events.Turn("confirmed_end", 3, 812, reason="words"))
    log.close()
    line = path.read_text()
    assert line.startswith('{"t": 12.3457, "event": "turn", "kind": "confirmed_end", "turn_id": 3, "seq": 812')
    assert json.loads(line)["reason"] == "words"


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"t": 1.0, "event": "turn", "kind": "resumed", "turn_id": 1}', "missing field(s) ['seq']"),
        ('{"t": 1.0, "event": "battery", "percent": 50, "volts": 3.7}', "unknown field(s) ['volts']"),
        ('{"t": 1.0, "event": "battery", "percent": "50"}', "Battery.percent: '50' is not an integer"),
        ('{"t": 1.0, "event": "battery", "percent": true}', "Battery.percent: True is not an integer"),
        ('{"t": 1.0, "event": "telemetry"}', "unknown event 'telemetry'"),
        ('{"t": 1.0, "event": "host_state", "up": 1, "detail": ""}', "HostState.up: 1 is not bool"),
        ("[1, 2]", "not a JSON object"),
        ('{"t": 1.0, "event": "cue", "reason": "host_unreachable"', "not JSON"),
    ],
)
def test_a_line_off_the_schema_is_a_clear_error_naming_its_line(tmp_path, line, says):
    path = _write(tmp_path, '{"t": 0.5, "event": "device_disconnected"}', line)
    with pytest.raises(events.EventLogError) as error:
        events.read_events(path)
    assert f"{path}:2" in str(error.value) and says in str(error.value)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_any_bytes_read_as_events_or_a_schema_error(tmp_path, data):
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    try:
        read = events.read_events(path)
    except events.EventLogError:
        return
    assert all(isinstance(e, events.EdgeEvent) for e in read)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | FINITE | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from([*events.EDGE_EVENTS, "nope"]),
    fields=st.dictionaries(
        st.sampled_from(["t", "kind", "seq", "turn_id", "text", "up", "counters", "config", "samples", "x"]),
        JSON_VALUES,
        max_size=6,
    ),
)
def test_well_formed_json_of_the_wrong_shape_is_a_schema_error(tmp_path, name, fields):
    path = _write(tmp_path, json.dumps({"event": name, **fields}))
    try:
        (event,) = events.read_events(path)
    except events.EventLogError:
        return
    assert type(event) is events.EDGE_EVENTS[name]


SIM_EVENTS = st.builds(
    events.SimEvents,
    sample_rate=st.just(16000),
    duration_s=FINITE,
    utterances=st.lists(st.builds(events.SimUtterance, start_s=FINITE, end_s=FINITE), max_size=3),
    playback=st.lists(
        st.builds(events.SimPlayback, start_s=FINITE, end_s=FINITE, flush_received_s=st.none() | FINITE), max_size=3
    ),
    unplayed=st.lists(st.builds(events.SimUnplayed, flush_received_s=st.none() | FINITE), max_size=2),
    buttons=st.lists(st.builds(events.SimAction, at_s=FINITE), max_size=2),
    gestures=st.lists(st.builds(events.SimAction, at_s=FINITE), max_size=2),
    disconnects=st.lists(
        st.builds(events.SimDisconnect, at_s=FINITE, duration_s=FINITE, reconnected_s=st.none() | FINITE), max_size=2
    ),
    counters=st.dictionaries(st.text(max_size=8), st.dictionaries(st.text(max_size=8), st.integers(), max_size=3)),
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=SIM_EVENTS)
def test_the_simulators_events_read_back_as_written(tmp_path, written):
    path = tmp_path / "sim_events.json"
    events.write_sim_events(path, written)
    assert events.read_sim_events(path) == written


def test_a_sim_events_file_off_the_schema_names_the_field(tmp_path):
    good = events.SimEvents(16000, 1.0, [events.SimUtterance(0, "hi", 0.1, 0.5, False, "at")], [], [], [], [], [], {})
    path = tmp_path / "sim_events.json"
    events.write_sim_events(path, good)
    raw = json.loads(path.read_text())
    raw["utterances"][0]["end_s"] = "soon"
    path.write_text(json.dumps(raw))
    with pytest.raises(events.EventLogError, match=r"utterances\[0\]: SimUtterance.end_s: 'soon' is not a number"):
        events.read_sim_events(path)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_any_bytes_read_as_sim_events_or_a_schema_error(tmp_path, data):
    path = tmp_path / "sim_events.json"
    path.write_bytes(data)
    with pytest.raises(events.EventLogError):
        events.read_sim_events(path)
