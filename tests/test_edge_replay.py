"""Replay: the turn arbiter's recorded inputs, fed to a fresh arbiter, give the recorded decisions.

The recordings in tests/replay/ come from real runs of the whole stack (``sottovoce edge --record``,
gzip-compressed): the demo conversation (``sottovoce demo`` records to OUT/edge_arbiter.jsonl; speech
over an answer read by the host), the
host-outage flow of test_e2e (the host comes up after the edge; scenario host_outage.toml) and a
device that drops off the link mid-request (``sottovoce demo --scenario reconnect``).
Re-record one after a deliberate change of the arbiter's behaviour, never to make this pass.
"""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sottovoce.edge import arbiter as arb
from sottovoce.edge.end_rules import SilencePolicy
from sottovoce.edge.replay import ArbiterRecorder, Step, read_recording, replay
from sottovoce.proto.events import EventLogError

REPLAYS = sorted((Path(__file__).parent / "replay").glob("edge_*.jsonl.gz"))


def _kinds(steps: list[Step]) -> set[type]:
    return {type(d) for s in steps for d in s.decisions}


@pytest.mark.parametrize("path", REPLAYS, ids=lambda p: p.name.split(".")[0])
def test_a_recorded_run_replays_to_the_same_decisions(path):
    recording = read_recording(path)
    assert len(recording.steps) > 1000  # a whole run, frame by frame
    replayed = replay(recording)
    for recorded, again in zip(recording.steps, replayed, strict=True):
        assert again.decisions == recorded.decisions, recorded.input
    assert {arb.SpeechStart, arb.TentativeEnd, arb.ConfirmedEnd, arb.HintFiled} <= _kinds(replayed)


def test_the_recordings_hold_what_they_are_kept_for():
    by_name = {p.name.split(".")[0]: read_recording(p) for p in REPLAYS}
    assert set(by_name) == {"edge_demo", "edge_host_outage", "edge_reconnect"}
    # the demo: a barge-in, the answer ducked before it, and the words confirming ends
    demo = [d for s in by_name["edge_demo"].steps for d in s.decisions]
    assert any(isinstance(d, arb.BargeIn) for d in demo)
    for i, d in enumerate(demo):
        if isinstance(d, arb.BargeIn):
            duck = next(x for x in reversed(demo[:i]) if isinstance(x, (arb.Duck, arb.Restore, arb.BargeIn)))
            assert isinstance(duck, arb.Duck) and duck.seq >= d.seq  # at or after the onset it interrupts from
    assert {"words"} <= {d.reason for d in demo if isinstance(d, arb.ConfirmedEnd)}
    # ... and the host asked to read the speech over the answer before it was called an interruption
    assert by_name["edge_demo"].overlaps is not None
    assert any(isinstance(d, arb.AskOverlap) for d in demo)
    assert {"partial", "unsure"} & {d.verdict for d in demo if isinstance(d, arb.OverlapFiled)}
    # the host outage: the host down, then up, before the wearer speaks
    outage = [s.input for s in by_name["edge_host_outage"].steps if isinstance(s.input, arb.HostState)]
    assert [h.up for h in outage][:1] == [False] and any(h.up for h in outage)
    # the device drop: the wearer's words lost, the open turn abandoned, the next turns new
    drop = [d for s in by_name["edge_reconnect"].steps for d in s.decisions]
    lost = next(i for i, d in enumerate(drop) if isinstance(d, arb.Abandoned))
    assert isinstance(drop[lost - 1], arb.SpeechLost)
    later = [d for d in drop[lost:] if isinstance(d, arb.SpeechStart)]
    assert later and all(d.seq > drop[lost].seq for d in later)


def test_a_replay_notices_a_change_of_behaviour():
    recording = read_recording(next(p for p in REPLAYS if p.name.startswith("edge_demo")))
    slower = dataclasses.replace(recording, barge_in_ms=recording.barge_in_ms + 400)
    assert [s.decisions for s in replay(slower)] != [s.decisions for s in recording.steps]


def _run(arbiter: arb.TurnArbiter, recorder: ArbiterRecorder, inputs: list[arb.Input]) -> None:
    for event in inputs:
        recorder.record(event, arbiter.feed(event))


def test_what_the_recorder_writes_reads_back_and_replays(tmp_path):
    arbiter = arb.TurnArbiter(SilencePolicy(confirm_ms=300), barge_in_ms=100)
    path = tmp_path / "arbiter.jsonl"
    recorder = ArbiterRecorder(path, arbiter)
    speech = [0.0] * 3 + [0.9] * 20 + [0.0] * 20
    inputs: list[arb.Input] = [arb.HostState(True), *(arb.Frame(i, p) for i, p in enumerate(speech))]
    inputs += [arb.Hint(1, 30, True, True), arb.AnswerStarted(7, 1), arb.PlaybackState(True)]
    inputs += [arb.Frame(43 + i, p) for i, p in enumerate([0.9] * 10)] + [arb.DeviceLost()]
    _run(arbiter, recorder, inputs)
    recorder.close()
    recording = read_recording(path)
    assert recording.policy == arbiter.policy and recording.barge_in_ms == 100
    assert [s.input for s in recording.steps] == inputs
    assert replay(recording) == recording.steps
    assert _kinds(recording.steps) >= {arb.SpeechStart, arb.ConfirmedEnd, arb.BargeIn, arb.HintFiled}
    # the same file compressed, as kept in tests/replay/
    packed = tmp_path / "arbiter.jsonl.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert read_recording(packed) == recording


HEADER = (
    '{"arbiter": "turn", "version": 1, "policy": "silence", "settings": {"confirm_ms": 500, "tentative_ms": 200,'
    ' "vad": {"onset": 0.5, "offset": 0.35, "min_speech_ms": 60}}, "barge_in_ms": 200}'
)


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ([], "empty"),
        (['{"arbiter": "turn", "version": 2}'], "not a version 1 turn arbiter recording"),
        ([HEADER.replace('"silence"', '"magic"')], "unknown policy 'magic'"),
        ([HEADER.replace('"confirm_ms": 500', '"confirm_ms": "soon"')], "SilencePolicy.confirm_ms"),
        ([HEADER, '{"out": "speech_start", "turn_id": 1, "seq": 0}'], "neither an input nor a decision after one"),
        ([HEADER, '{"in": "frame", "seq": 1}'], "missing field(s) ['speech']"),
        ([HEADER, '{"in": "teleport"}'], "unknown in 'teleport'"),
        ([HEADER, '{"in": "overlap_read", "query_id": 1, "verdict": "maybe"}'], "overlap verdict 'maybe'"),
        ([HEADER[:-1] + ', "overlaps": {"max_overlap_ms": 0, "verdict_wait_ms": 400}}'], "one frame"),
    ],
)
def test_a_broken_recording_is_a_clear_error(tmp_path, lines, says):
    path = tmp_path / "arbiter.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(EventLogError, match=r"arbiter\.jsonl") as error:
        read_recording(path)
    assert says in str(error.value)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), compressed=st.booleans())
def test_any_bytes_read_as_a_recording_or_a_clear_error(tmp_path, data, compressed):
    path = tmp_path / ("arbiter.jsonl.gz" if compressed else "arbiter.jsonl")
    content = HEADER.encode() + b"\n" + data
    path.write_bytes(gzip.compress(content) if compressed else content)
    try:
        recording = read_recording(path)
    except EventLogError:
        return
    replay(recording)  # whatever reads as a recording also replays


def test_an_arbiter_that_reads_overlaps_records_its_rules_and_replays_its_readings(tmp_path):
    rules = arb.OverlapRules(max_overlap_ms=600, verdict_wait_ms=300)
    arbiter = arb.TurnArbiter(SilencePolicy(), overlaps=rules)
    recorder = ArbiterRecorder(tmp_path / "arbiter.jsonl", arbiter)
    speech = [0.9] * 25 + [0.0] * 12
    inputs = [arb.HostState(True), arb.PlaybackState(True), *(arb.Frame(i, p) for i, p in enumerate(speech)),
              arb.OverlapRead(1, "backchannel"), arb.OverlapRead(2, "backchannel"),
              *(arb.Frame(37 + i, 0.0) for i in range(30))]  # fmt: skip
    for event in inputs:
        recorder.record(event, arbiter.feed(event))
    recorder.close()
    recording = read_recording(tmp_path / "arbiter.jsonl")
    assert recording.overlaps == rules
    assert {arb.AskOverlap, arb.OverlapFiled, arb.Restore, arb.BackchannelIgnored} <= _kinds(recording.steps)
    assert arb.BargeIn not in _kinds(recording.steps)
    assert replay(recording) == recording.steps
