"""The edge daemon and the host's reading of the words (TurnHint): which hints the turn policy
gets, and what a complete reading does to a tentative end. Real VAD, real turn model, real
speech; the host side is the TurnHint message as the host sends it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sottovoce.edge.daemon import Edge, EdgeConfig
from sottovoce.edge.end_rules import ModelPolicy
from sottovoce.edge.turn import TurnDetector, TurnKind, WordsReading
from sottovoce.edge.turn_model import TurnModel
from sottovoce.edge.uplink import UplinkFrame
from sottovoce.proto import events
from sottovoce.proto.codec import FRAME_SAMPLES, frames_of
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.tools.turn.corpus import Synth, TurnScript, Voice, render

TENTATIVE, CONFIRMED = TurnKind.TENTATIVE_END, TurnKind.CONFIRMED_END
PIPER = Voice("piper", "en_US-joe-medium", 1.0, 1.0)
QUESTION = TurnScript("crafted", ("What's my battery level?",), (), PIPER, 600, -12.0, "pink", 35.0, 3)


@pytest.fixture(scope="module")
def question():
    return render(QUESTION, Synth())


def _edge(tmp_path: Path, model: TurnModel) -> Edge:
    # Nothing listens at either address: the daemon is driven through its links' callbacks, never run.
    config = EdgeConfig(device="tcp-client:127.0.0.1:9", host="127.0.0.1:9", turn="model",
                        events=tmp_path / "events.jsonl")  # fmt: skip
    # The words decide as soon as they come.
    return Edge(config, policy=ModelPolicy.from_meta(model.meta, hint=model.meta.tentative_threshold))


def _turn_events(tmp_path: Path) -> list[events.Turn]:
    return events.of_type(events.read_events(tmp_path / "events.jsonl"), events.Turn)


def _hint(edge: Edge, **fields) -> None:
    edge.on_host_message(pb.HostMessage(hint=pb.TurnHint(**fields)))


def _feed_until_tentative(edge: Edge, frames, tmp_path: Path) -> int:
    for seq, pcm in enumerate(frames):
        edge.on_uplink_frame(UplinkFrame(seq, None, pcm))
        if any(e.kind == "tentative_end" for e in _turn_events(tmp_path)):
            return seq
    raise AssertionError("the model never found the end probable")


def test_a_complete_reading_confirms_a_tentative_end(tmp_path, question, model):
    edge = _edge(tmp_path, model)
    frames = frames_of(question.pcm)
    seq = _feed_until_tentative(edge, frames, tmp_path)
    turn_id = _turn_events(tmp_path)[0].turn_id
    _hint(edge, turn_id=turn_id, audio_seq=seq, complete=True, asr_confidence=0.9)
    # The tentative end may come while the VAD still hears speech; the words then confirm it as
    # soon as the policy's minimum silence has passed.
    last = seq + 1
    while _turn_events(tmp_path)[-1].kind != "confirmed_end" and last < seq + 20:
        edge.on_uplink_frame(UplinkFrame(last, None, frames[last]))
        last += 1
    turns = _turn_events(tmp_path)
    assert [e.kind for e in turns] == ["speech_start", "tentative_end", "confirmed_end"]
    assert turns[-1].reason == "words"
    counters = edge.arbiter.counters
    assert counters.hints_complete == 1 and counters.hints_stale == 0
    assert last * FRAME_SAMPLES > question.speech_end  # never before the last word


def test_incomplete_and_stale_readings_change_nothing(tmp_path, question, model):
    edge = _edge(tmp_path, model)
    frames = frames_of(question.pcm)
    seq = _feed_until_tentative(edge, frames, tmp_path)
    turn_id = _turn_events(tmp_path)[0].turn_id
    stale = [
        {"turn_id": turn_id, "audio_seq": seq, "complete": False, "sure": True},  # the words break off
        {"turn_id": turn_id, "audio_seq": seq, "complete": False, "sure": False},  # words not made out
        {"turn_id": turn_id - 1, "audio_seq": seq, "complete": True},  # an earlier turn
        {"turn_id": turn_id, "audio_seq": seq + 5, "complete": True},  # audio not yet heard
        {"turn_id": turn_id, "audio_seq": seq - 3, "complete": True},  # before the tentative end
    ]
    for hint in stale:
        _hint(edge, **hint)
    edge.on_uplink_frame(UplinkFrame(seq + 1, None, frames[seq + 1]))
    assert [e.kind for e in _turn_events(tmp_path)] == ["speech_start", "tentative_end"]
    # Stale and unsure readings never reach the policy; the others do, and change nothing here.
    counters = edge.arbiter.counters
    assert counters.hints_stale == 2 and counters.hints_unsure == 1
    assert counters.hints_complete == counters.hints_incomplete == 1
    # every reading is in the event log as received
    assert len(events.of_type(events.read_events(tmp_path / "events.jsonl"), events.TurnHint)) == len(stale)


def test_the_host_being_up_tells_the_policy_words_will_come(tmp_path):
    edge = Edge(EdgeConfig(device="tcp-client:127.0.0.1:9", host="127.0.0.1:9", turn="model"))
    assert not edge.arbiter.detector.host_reads_words
    edge.on_host_state(True, "session 1")
    assert edge.arbiter.detector.host_reads_words
    edge.on_host_state(False, "gone")
    assert not edge.arbiter.detector.host_reads_words


SPEECH, SURE = 20, 0.97  # the model's probability scripted: 0 while the wearer speaks, then SURE


def _drive(policy: ModelPolicy, frames: int, reading: tuple | None = None, host: bool = False, p: float = SURE) -> list:
    """Speech then silence, the model's probability ``p`` from the third silent frame on (crafted
    cases of the words stage's timing); the host's reading (delay in frames after the tentative
    end, complete, [question]); ``host``: a host that reads the words is listening."""
    detector = TurnDetector(policy)
    detector.host_reads_words = host
    signals, due = [], None
    for i in range(frames):
        if due is not None and i == due[0]:
            detector.words_read(WordsReading(*due[1:]))
        for s in detector.push(0.9 if i < SPEECH else 0.0, p if i >= SPEECH + 2 else 0.0):
            signals.append(s)
            if s.kind is TurnKind.TENTATIVE_END and reading is not None:
                due = (s.frame + reading[0], s.frame, *reading[1:])
    return [(s.kind, s.frame, s.reason) for s in signals if s.kind is not TurnKind.SPEECH_START]


@pytest.fixture(scope="module")
def model():
    return TurnModel()


def test_a_sure_model_ends_the_turn_at_once_without_a_host(model):
    policy = ModelPolicy.from_meta(model.meta, words_wait_ms=300)
    sure = SPEECH + 2
    assert _drive(policy, 60) == [(TENTATIVE, sure, ""), (CONFIRMED, sure, "model")]


def test_with_a_host_a_sure_model_waits_for_the_words(model):
    policy = ModelPolicy.from_meta(model.meta, words_wait_ms=300)
    sure = SPEECH + 2
    # complete words 10 frames later: the end is confirmed as they arrive
    assert _drive(policy, 60, (10, True), host=True) == [(TENTATIVE, sure, ""), (CONFIRMED, sure + 10, "words")]
    # no reading: the model alone, once words_wait_ms has passed
    assert _drive(policy, 60, host=True) == [(TENTATIVE, sure, ""), (CONFIRMED, sure + 15, "model")]
    # unfinished words veto the model: only the hard fallback ends the turn
    policy = dataclasses.replace(policy, max_silence_ms=1000)
    assert _drive(policy, 90, (10, False), host=True) == [(TENTATIVE, sure, ""), (CONFIRMED, SPEECH + 49, "fallback")]


def test_a_question_needs_less_of_the_model_than_a_statement(model):
    # A question's final rise sounds like a speaker going on; its words say otherwise.
    policy = ModelPolicy.from_meta(
        model.meta, confirm=0.99, hint=0.99, question=0.9, words_wait_ms=300, words_late_threshold=1.0,
        max_silence_ms=1000,
    )  # fmt: skip
    sure = SPEECH + 2
    assert _drive(policy, 90, (5, True, True), host=True) == [(TENTATIVE, sure, ""), (CONFIRMED, sure + 5, "words")]
    assert _drive(policy, 90, (5, True, False), host=True) == [(TENTATIVE, sure, ""),
                                                               (CONFIRMED, SPEECH + 49, "fallback")]  # fmt: skip


def test_complete_words_end_an_unsure_turn_after_the_words_late_silence(model):
    # p 0.97 is below every bar but the late one: complete words end the turn once 600 ms of
    # silence have passed (frame 20 + 30), long before the fallback; unfinished words never do.
    policy = ModelPolicy.from_meta(model.meta, confirm=0.99, hint=0.99, question=0.99, words_wait_ms=300,
                                   max_silence_ms=1000, words_late_ms=600, words_late_threshold=0.9)  # fmt: skip
    sure = SPEECH + 2
    assert _drive(policy, 90, (5, True), host=True) == [(TENTATIVE, sure, ""), (CONFIRMED, SPEECH + 29, "words late")]
    assert _drive(policy, 90, (5, False), host=True) == [(TENTATIVE, sure, ""), (CONFIRMED, SPEECH + 49, "fallback")]
    policy = dataclasses.replace(policy, words_late_threshold=0.98)  # the model's p must reach the late bar too
    assert _drive(policy, 90, (5, True), host=True) == [(TENTATIVE, sure, ""), (CONFIRMED, SPEECH + 49, "fallback")]


def test_words_are_read_after_some_silence_even_when_the_model_stays_unsure(model):
    # Real voices: the model's p stays at 0.2, below its tentative threshold. After 100 ms of
    # silence (frame 20 + 4) the host is asked for the words anyway; complete words end the turn
    # at the words' late stage (300 ms, frame 20 + 14), unfinished ones leave it to the fallback.
    policy = ModelPolicy.from_meta(model.meta, confirm=0.99, hint=0.99, question=0.99, words_wait_ms=300,
                                   max_silence_ms=1000, words_late_ms=300, words_late_threshold=0.1,
                                   read_silence_ms=100)  # fmt: skip
    read = SPEECH + 4
    assert _drive(policy, 90, (5, True), host=True, p=0.2) == [(TENTATIVE, read, ""),
                                                               (CONFIRMED, SPEECH + 14, "words late")]  # fmt: skip
    assert _drive(policy, 90, (5, False), host=True, p=0.2) == [(TENTATIVE, read, ""),
                                                                (CONFIRMED, SPEECH + 49, "fallback")]  # fmt: skip
    # the model's veto: below the late stage's bar, complete words do not end the turn
    assert _drive(policy, 90, (5, True), host=True, p=0.05)[-1] == (CONFIRMED, SPEECH + 49, "fallback")
    # no host: the edge decides alone, at the fallback
    assert _drive(policy, 90, p=0.2) == [(TENTATIVE, read, ""), (CONFIRMED, SPEECH + 49, "fallback")]
    # without the setting, an unsure model never asks for the words
    unread = dataclasses.replace(policy, read_silence_ms=None)
    assert _drive(unread, 90, (5, True), host=True, p=0.2) == [(TENTATIVE, SPEECH + 49, ""),
                                                               (CONFIRMED, SPEECH + 49, "fallback")]  # fmt: skip
