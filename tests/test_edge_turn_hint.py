"""The edge daemon and the host's reading of the words (TurnHint): which hints the turn policy
gets, and what a complete reading does to a tentative end. Real VAD, real turn model, real
speech; the host side is the TurnHint message as the host sends it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sottovoce.edge.daemon import Edge, EdgeConfig
from sottovoce.edge.turn import TurnKind, WordsReading
from sottovoce.edge.turn_model import ModelTurnPolicy, TurnModel
from sottovoce.edge.uplink import UplinkFrame
from sottovoce.proto.codec import FRAME_SAMPLES, frames_of
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.tools.turn.corpus import Synth, TurnScript, Voice, render

TENTATIVE, CONFIRMED = TurnKind.TENTATIVE_END, TurnKind.CONFIRMED_END
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
    # The tentative end may come while the VAD still hears speech; the words then confirm it as
    # soon as the policy's minimum silence has passed.
    last = seq + 1
    while edge.policy.speaking and last < seq + 20:
        edge._on_frame(UplinkFrame(last, None, frames[last]))
        last += 1
    events = _turn_events(edge, tmp_path)
    assert [e["kind"] for e in events] == ["speech_start", "tentative_end", "confirmed_end"]
    assert events[-1]["reason"] == "words"
    assert edge.counters.hints_complete == 1 and edge.counters.hints_stale == 0
    assert last * FRAME_SAMPLES > question.speech_end  # never before the last word


def test_incomplete_and_stale_readings_change_nothing(tmp_path, question):
    edge = _edge(tmp_path)
    edge.policy.hint_threshold = edge.policy.tentative_threshold
    frames = frames_of(question.pcm)
    seq = _feed_until_tentative(edge, frames)
    stale = [
        pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq, complete=False, sure=True),  # the words break off
        pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq, complete=False, sure=False),  # words not made out
        pb.TurnHint(turn_id=edge.turn_id - 1, audio_seq=seq, complete=True),  # an earlier turn
        pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq + 5, complete=True),  # audio not yet heard
        pb.TurnHint(turn_id=edge.turn_id, audio_seq=seq - 3, complete=True),  # before the tentative end
    ]
    for hint in stale:
        edge._on_hint(hint)
    edge._on_frame(UplinkFrame(seq + 1, None, frames[seq + 1]))
    assert [e["kind"] for e in _turn_events(edge, tmp_path)] == ["speech_start", "tentative_end"]
    # Stale and unsure readings never reach the policy; the others do, and change nothing here.
    assert edge.counters.hints_stale == 2 and edge.counters.hints_unsure == 1
    assert edge.counters.hints_complete == edge.counters.hints_incomplete == 1


def test_the_host_being_up_tells_the_policy_words_will_come(tmp_path):
    edge = _edge(tmp_path)
    assert not edge.policy.host_reads_words
    edge._on_host_state(True, "session 1")
    assert edge.policy.host_reads_words
    edge._on_host_state(False, "gone")
    assert not edge.policy.host_reads_words


class _Sure(ModelTurnPolicy):
    """The model policy with the model's probability scripted: 0 while the wearer speaks, then
    SURE from the third silent frame on (crafted cases of the words stage's timing)."""

    SPEECH, SURE = 20, 0.97

    def observe(self, pcm, speech_prob) -> None:
        pass

    def end_confidence(self) -> float:
        return self.SURE if self.frame >= self.SPEECH + 2 else 0.0


def _drive(policy: ModelTurnPolicy, frames: int, reading: tuple | None = None) -> list:
    """Speech then silence; the host's reading (delay in frames after the tentative end, complete,
    [question])."""
    policy.reset()
    silent = np.zeros(FRAME_SAMPLES, np.int16)
    signals, due = [], None
    for i in range(frames):
        if due is not None and i == due[0]:
            policy.words_read(WordsReading(*due[1:]))
        for s in policy.push(silent, 0.9 if i < _Sure.SPEECH else 0.0):
            signals.append(s)
            if s.kind is TurnKind.TENTATIVE_END and reading is not None:
                due = (s.frame + reading[0], s.frame, *reading[1:])
    return [(s.kind, s.frame, s.reason) for s in signals if s.kind is not TurnKind.SPEECH_START]


@pytest.fixture(scope="module")
def model():
    return TurnModel()


def test_a_sure_model_ends_the_turn_at_once_without_a_host(model):
    policy = _Sure(model, words_wait_ms=300)
    sure = _Sure.SPEECH + 2
    assert _drive(policy, 60) == [(TENTATIVE, sure, ""), (CONFIRMED, sure, "model")]


def test_with_a_host_a_sure_model_waits_for_the_words(model):
    policy = _Sure(model, words_wait_ms=300)
    policy.host_reads_words = True
    sure = _Sure.SPEECH + 2
    # complete words 10 frames later: the end is confirmed as they arrive
    assert _drive(policy, 60, (10, True)) == [(TENTATIVE, sure, ""), (CONFIRMED, sure + 10, "words")]
    # no reading: the model alone, once words_wait_ms has passed
    assert _drive(policy, 60) == [(TENTATIVE, sure, ""), (CONFIRMED, sure + 15, "model")]
    # unfinished words veto the model: only the hard fallback ends the turn
    policy.max_silence_ms = 1000
    assert _drive(policy, 90, (10, False)) == [(TENTATIVE, sure, ""), (CONFIRMED, _Sure.SPEECH + 49, "fallback")]


def test_a_question_needs_less_of_the_model_than_a_statement(model):
    # A question's final rise sounds like a speaker going on; its words say otherwise.
    policy = _Sure(
        model, confirm=0.99, hint=0.99, question=0.9, words_wait_ms=300, words_late_threshold=1.0, max_silence_ms=1000
    )
    policy.host_reads_words = True
    sure = _Sure.SPEECH + 2
    assert _drive(policy, 90, (5, True, True)) == [(TENTATIVE, sure, ""), (CONFIRMED, sure + 5, "words")]
    assert _drive(policy, 90, (5, True, False)) == [(TENTATIVE, sure, ""), (CONFIRMED, _Sure.SPEECH + 49, "fallback")]


def test_complete_words_end_an_unsure_turn_after_the_words_late_silence(model):
    # p 0.97 is below every bar but the late one: complete words end the turn once 600 ms of
    # silence have passed (frame 20 + 30), long before the fallback; unfinished words never do.
    policy = _Sure(model, confirm=0.99, hint=0.99, question=0.99, words_wait_ms=300, max_silence_ms=1000,
                   words_late_ms=600, words_late_threshold=0.9)  # fmt: skip
    policy.host_reads_words = True
    sure = _Sure.SPEECH + 2
    assert _drive(policy, 90, (5, True)) == [(TENTATIVE, sure, ""), (CONFIRMED, _Sure.SPEECH + 29, "words late")]
    assert _drive(policy, 90, (5, False)) == [(TENTATIVE, sure, ""), (CONFIRMED, _Sure.SPEECH + 49, "fallback")]
    policy.words_late_threshold = 0.98  # the model's p must reach the late bar too
    assert _drive(policy, 90, (5, True)) == [(TENTATIVE, sure, ""), (CONFIRMED, _Sure.SPEECH + 49, "fallback")]
