"""Recorded conversations replayed through the host's turn ledger give the decisions recorded.

The recordings under tests/replay/ come from real runs (``sottovoce host --record-turns``): the
demo conversation (a resumed turn, a barge-in, an end confirmed on "Stop." that the wearer talked
through and the host took back), the host-outage scenario (the host up only after the glasses
connected, the audio clock already far along) and the reconnect scenario (a request cut short by a
link drop, abandoned; the next ones on the same audio timeline).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.host.turn_ledger import (
    AnswerProgress,
    ConfirmedEnd,
    Drop,
    LedgerConfig,
    Open,
    SpeechStart,
    TakeBack,
    TentativeEnd,
    TurnLedger,
)
from sottovoce.host.turn_replay import (
    RecordError,
    TurnRecorder,
    decode_decision,
    decode_input,
    encode,
    read_recording,
    replay,
)

RECORDINGS = sorted((Path(__file__).parent / "replay").glob("host_*.jsonl"))


def test_the_recordings_are_there():
    assert {p.name for p in RECORDINGS} >= {"host_demo.jsonl", "host_outage.jsonl", "host_reconnect.jsonl"}


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_a_recorded_conversation_replays_to_the_same_decisions(path):
    sessions = read_recording(path.read_text())
    assert sessions and all(s.steps for s in sessions)
    for recorded in sessions:
        assert replay(recorded) == [decisions for _, decisions in recorded.steps]


def test_the_demo_recording_holds_a_repaired_turn():
    (demo,) = read_recording((Path(__file__).parent / "replay" / "host_demo.jsonl").read_text())
    kinds = {type(d).__name__ for _, decisions in demo.steps for d in decisions}
    assert {"Open", "Prepare", "Discard", "Release", "Interrupt", "TakeBack"} <= kinds


def test_the_reconnect_recording_drops_the_cut_request_and_hears_the_next_on_one_timeline():
    (run,) = read_recording((Path(__file__).parent / "replay" / "host_reconnect.jsonl").read_text())
    inputs = [event for event, _ in run.steps]
    lost = next(i for i, e in enumerate(inputs) if type(e).__name__ == "Abandoned")
    assert run.steps[lost][1] == [Drop(inputs[lost].turn_id)]
    after = [e for e in inputs[lost + 1 :] if isinstance(e, SpeechStart)]
    assert after and all(e.audio_seq > inputs[lost].audio_seq for e in after)  # numbering went on


def test_a_changed_rule_shows_up_as_a_different_decision():
    (demo,) = read_recording((Path(__file__).parent / "replay" / "host_demo.jsonl").read_text())
    demo.config = LedgerConfig(continuation_gap_ms=0)  # no repair of a turn ended too soon
    assert replay(demo) != [decisions for _, decisions in demo.steps]


def test_the_recorder_writes_what_the_reader_reads(tmp_path):
    recorder = TurnRecorder(tmp_path / "turns.jsonl")
    config = LedgerConfig(preroll_ms=200)
    first, second = recorder.session("a", config), recorder.session("b", LedgerConfig())
    ledger_a, ledger_b = TurnLedger(config), TurnLedger()
    events = [SpeechStart(1, 50), TentativeEnd(1, 90), ConfirmedEnd(1, 95)]
    for event in events:  # two conversations, interleaved
        first(event, ledger_a.feed(event))
        second(event, ledger_b.feed(event))
    recorder.close()
    a, b = read_recording((tmp_path / "turns.jsonl").read_text())
    assert (a.session_id, a.config, b.session_id) == ("a", config, "b")
    assert [e for e, _ in a.steps] == events and a.steps[0][1] == [Open(1, 40)]
    assert replay(a) == [d for _, d in a.steps] and replay(b) == [d for _, d in b.steps]


progress = st.none() | st.builds(AnswerProgress, st.none() | st.integers(0, 2**32 - 1), st.integers(0), st.booleans())
items = st.one_of(
    st.builds(SpeechStart, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.booleans(), progress),
    st.builds(TakeBack, st.integers(0), st.integers(0), st.integers(0)),
    st.builds(Drop, st.integers(0)),
)


@given(items)
def test_inputs_and_decisions_survive_encoding(item):
    decoded = json.loads(json.dumps(encode(item)))
    assert (decode_input if isinstance(item, SpeechStart) else decode_decision)(decoded) == item


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
line_like = st.fixed_dictionaries(
    {"stream": st.integers(0, 3)},
    optional={
        "session": json_values,
        "ledger": json_values | st.fixed_dictionaries({}, optional={"preroll_ms": json_values}),
        "input": json_values
        | st.fixed_dictionaries(
            {"type": st.sampled_from(["SpeechStart", "TentativeEnd", "Open", "x"])},
            optional={"turn_id": json_values, "audio_seq": json_values, "answer": json_values},
        ),
        "decisions": json_values,
    },
)


@given(st.lists(line_like.map(json.dumps) | st.text(max_size=40), max_size=6))
def test_a_damaged_recording_is_a_clear_error(lines):
    try:
        read_recording("\n".join(lines))
    except RecordError as exc:
        assert str(exc).startswith("line ")


def test_errors_name_the_line_and_the_field():
    header = json.dumps({"stream": 1, "session": "s", "ledger": {}})
    bad = json.dumps(
        {"stream": 1, "input": {"type": "TentativeEnd", "turn_id": "one", "audio_seq": 3}, "decisions": []}
    )
    with pytest.raises(RecordError, match=r"line 2: TentativeEnd.turn_id: 'one' is not an integer"):
        read_recording(f"{header}\n{bad}")
    with pytest.raises(RecordError, match=r"line 1: stream 2 has no header line"):
        read_recording(json.dumps({"stream": 2, "input": {}, "decisions": []}))
