"""The edge daemon and the host's reading of the words (TurnHint): which hints the turn policy
gets, and what a complete reading does to a tentative end. Real VAD, real turn model, real
speech; the host side is the TurnHint message as the host sends it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sottovoce.edge.daemon import Edge, EdgeConfig
from sottovoce.edge.uplink import UplinkFrame
from sottovoce.proto.codec import FRAME_SAMPLES, frames_of
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.tools.turn.corpus import Synth, TurnScript, Voice, render

PIPER = Voice("piper", "en_US-joe-medium", 1.0, 1.0)
QUESTION = TurnScript("crafted", ("What's my battery level?",), (), PIPER, 600, -12.0, "pink", 35.0, 3)


@pytest.fixture(scope="module")
def question():
    return render(QUESTION, Synth())


def _edge(tmp_path: Path) -> Edge:
    # Nothing listens at either address: the daemon is driven frame by frame, never run.
    config = EdgeConfig(device="tcp-client:127.0.0.1:9", host="127.0.0.1:9", turn="model",
                        events_path=tmp_path / "events.jsonl")  # fmt: skip
    return Edge(config)


def _turn_events(edge: Edge, tmp_path: Path) -> list[dict]:
    edge.events.close()
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == "turn"]


def _feed_until_tentative(edge: Edge, frames) -> int:
    for seq, pcm in enumerate(frames):
        edge._on_frame(UplinkFrame(seq, None, pcm))
        if edge.policy.tentative:
            return seq
    raise AssertionError("the model never found the end probable")


def test_a_complete_reading_confirms_a_tentative_end(tmp_path, question):
    edge = _edge(tmp_path)
    edge.policy.hint_threshold = edge.policy.tentative_threshold  # words decide as soon as they come
    frames = frames_of(question.pcm)
    seq = _feed_until_tentative(edge, frames)
    edge._on_hint(pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq, complete=True, asr_confidence=0.9))
    edge._on_frame(UplinkFrame(seq + 1, None, frames[seq + 1]))
    events = _turn_events(edge, tmp_path)
    assert [e["kind"] for e in events] == ["speech_start", "tentative_end", "confirmed_end"]
    assert events[-1]["reason"] == "words"
    assert edge.counters.hints_complete == 1 and edge.counters.hints_stale == 0
    assert (seq + 2) * FRAME_SAMPLES > question.speech_end  # never before the last word


def test_incomplete_and_stale_readings_change_nothing(tmp_path, question):
    edge = _edge(tmp_path)
    edge.policy.hint_threshold = edge.policy.tentative_threshold
    frames = frames_of(question.pcm)
    seq = _feed_until_tentative(edge, frames)
    stale = [
        pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq, complete=False),  # the words break off
        pb.TurnHint(turn_id=edge.turn_id - 1, audio_seq=seq, complete=True),  # an earlier turn
        pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq + 5, complete=True),  # audio not yet heard
        pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq - 3, complete=True),  # before the tentative end
    ]
    for hint in stale:
        edge._on_hint(hint)
    edge._on_frame(UplinkFrame(seq + 1, None, frames[seq + 1]))
    assert [e["kind"] for e in _turn_events(edge, tmp_path)] == ["speech_start", "tentative_end"]
    # The first two never reach the policy; the last two do, and it does not take them for this pause.
    assert edge.counters.hints_stale == 2 and edge.counters.hints_complete == 1
