"""Corrections pivot: "no, ten minutes" changes the last request's detail, replacing its timer.

The responder tests carry out each reply the way the session does (timers replaced, then armed,
the exchange recorded with what it asked and armed); the last tests drive a real gRPC session
with spoken turns, one of them a barge-in over the answer it corrects.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from grpc_edge import Edge, response_of, serving
from grpc_edge import spoken as say
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.host.answer import HostModels
from sottovoce.host.clock import ManualClock
from sottovoce.host.history import Exchange, History
from sottovoce.host.responder import (
    NOTHING_TO_CORRECT,
    Context,
    Correction,
    Reply,
    SkillResponder,
    corrected_in_turn,
    parse_correction,
)
from sottovoce.host.server import HostConfig, load_models
from sottovoce.host.timers import Timers
from sottovoce.proto.v1 import duplex_pb2 as pb

NOW = datetime(2025, 11, 25, 15, 7).astimezone()


class Conversation:
    """A responder and the effects of its replies, carried out as the session carries them out."""

    def __init__(self) -> None:
        self.clock = ManualClock(NOW)
        self.ctx = Context(History(), self.clock, Timers(self.clock))
        self.responder = SkillResponder()
        self._ids = 0

    async def say(self, words: str, heard: str | None = None) -> Reply:
        """One turn; ``heard``: the wearer stopped the answer after hearing only that much."""
        reply = await self.responder.respond(words, self.ctx)
        assert reply is not None
        if reply.cancel_timers:
            self.ctx.timers.cancel_all()
        for timer_id in reply.replace_timers:
            self.ctx.timers.cancel(timer_id)
        armed = [self.ctx.timers.arm(req) for req in reply.arm_timers]
        self._ids += 1
        self.ctx.history.add(Exchange(words, reply.text, self._ids))
        self.ctx.history.record_effects(self._ids, reply.request, tuple(t.id for t in armed))
        if heard is not None:
            self.ctx.history.truncate(self._ids, heard)
        return reply

    def pending(self) -> list[tuple[float, str]]:
        return [(t.request.seconds, t.request.announcement) for t in self.ctx.timers.pending()]

    async def fired_after(self, seconds: float) -> list[str]:
        fired = []
        await self.clock.advance(seconds)
        while True:
            try:
                timer = await asyncio.wait_for(self.ctx.timers.next_fired(), 0.01)
            except TimeoutError:
                return fired
            fired.append(timer.request.announcement)


@pytest.fixture
async def chat() -> Conversation:
    return Conversation()


@pytest.mark.parametrize(
    ("correction", "minutes", "said"),
    [
        ("No, ten minutes.", 10, "ten minutes"),
        ("I said ten.", 10, "ten minutes"),
        ("Make that ten minutes.", 10, "ten minutes"),
        ("Actually, eight.", 8, "eight minutes"),
        ("No, for an hour.", 60, "one hour"),
    ],
)
async def test_the_timer_is_replaced_not_duplicated(chat, correction, minutes, said):
    await chat.say("Set a timer for five minutes.")
    (old,) = chat.ctx.timers.pending()
    reply = await chat.say(correction)
    assert reply.text == f"Okay, {said} instead."
    assert reply.replace_timers == (old.id,)
    assert chat.pending() == [(minutes * 60, f"Your {said.removesuffix('s')} timer is done.")]
    assert await chat.fired_after(5 * 60) == []  # the five-minute timer is gone
    assert await chat.fired_after(minutes * 60) == [f"Your {said.removesuffix('s')} timer is done."]


async def test_a_correction_of_a_correction_still_leaves_one_timer(chat):
    await chat.say("Set a timer for five minutes.")
    await chat.say("No, ten minutes.")
    assert (await chat.say("Actually eight.")).text == "Okay, eight minutes instead."
    assert chat.pending() == [(480, "Your eight minute timer is done.")]


@pytest.mark.parametrize("correction", ["No, Anne.", "Not Anna, Anne.", "Not Anna but Anne."])
async def test_the_reminder_name_is_fixed(chat, correction):
    await chat.say("Remind me to call Anna in ten minutes.")
    reply = await chat.say(correction)
    assert reply.text == "Okay, Anne instead."
    assert chat.pending() == [(600, "Reminder: call anne.")]
    assert await chat.fired_after(600) == ["Reminder: call anne."]


async def test_a_correction_after_an_interrupted_answer_resolves_against_the_request(chat):
    # The wearer barged in after "Okay, a": the request, not the few words heard, is what changes.
    await chat.say("Set a timer for five minutes.", heard="Okay, a")
    assert chat.ctx.history.last_answer() == "Okay, a"
    assert (await chat.say("No, ten minutes.")).text == "Okay, ten minutes instead."
    assert chat.pending() == [(600, "Your ten minute timer is done.")]


async def test_a_correction_in_the_same_turn_arms_one_timer(chat):
    reply = await chat.say("Set a timer for five, no, ten minutes.")
    assert reply.text == "Okay, a ten minute timer, starting now."
    assert chat.pending() == [(600, "Your ten minute timer is done.")]
    await chat.say("Actually, twelve.")  # later corrections start from the corrected request
    assert chat.pending() == [(720, "Your twelve minute timer is done.")]


async def test_a_correction_in_the_same_turn_fixes_a_reminder_name(chat):
    await chat.say("Remind me to call Anna, no, Anne, in five minutes.")
    assert chat.pending() == [(300, "Reminder: call anne.")]


@pytest.mark.parametrize("before", [None, "What time is it?", "Set a timer for five minutes."])
async def test_nothing_to_correct_gets_a_question_and_no_timer(chat, before):
    if before is not None:
        await chat.say(before)
    pending = chat.pending()
    correction = "No, Anne." if before and "timer" in before else "No, ten minutes."
    reply = await chat.say(correction)
    assert reply.text == NOTHING_TO_CORRECT
    assert not reply.arm_timers and not reply.replace_timers and chat.pending() == pending


async def test_a_correction_of_a_question_answers_the_corrected_question(chat):
    await chat.say("What is twelve times seven?")
    assert (await chat.say("No, twelve times eight.")).text != NOTHING_TO_CORRECT  # a request of its own
    assert (await chat.say("Actually, nine.")).text == "Twelve times nine is one hundred and eight."


@pytest.mark.parametrize(
    ("words", "answer"),
    [
        ("No thanks.", "You're welcome."),
        ("Actually, what time is it?", "It's three oh seven in the afternoon."),
    ],
)
async def test_other_turns_that_open_like_a_correction_go_to_their_skills(chat, words, answer):
    await chat.say("Set a timer for five minutes.")
    assert (await chat.say(words)).text == answer
    assert chat.pending() == [(300, "Your five minute timer is done.")]


@pytest.mark.parametrize(("words", "level"), [("Make it louder.", 60), ("Actually, quieter.", 20)])
async def test_a_request_that_opens_like_a_correction_but_changes_no_detail_is_carried_out(chat, words, level):
    chat.ctx.volume_percent = 40
    await chat.say("Set the volume to forty percent.")
    reply = await chat.say(words)
    assert reply.volume == level and reply.text != NOTHING_TO_CORRECT


@pytest.mark.parametrize("words", ["No.", "No, stop.", "Stop.", "Wait.", "Hold on.", "Wait a second, please.", "Shh!"])
async def test_a_bare_stop_gets_silence_and_changes_nothing(chat, words):
    await chat.say("Set a timer for five minutes.")
    assert await chat.responder.respond(words, chat.ctx) is None
    assert chat.pending() == [(300, "Your five minute timer is done.")]


async def test_an_amount_alone_after_a_timer_changes_it(chat):
    # "No, ten minutes." over the answer often reaches the ASR without its "No,".
    await chat.say("Set a timer for five minutes.")
    assert (await chat.say("10 minutes.")).text == "Okay, ten minutes instead."
    assert chat.pending() == [(600, "Your ten minute timer is done.")]


async def test_an_amount_alone_after_anything_else_is_no_correction(chat):
    await chat.say("What time is it?")
    reply = await chat.say("Ten minutes.")
    assert reply.text != NOTHING_TO_CORRECT and not reply.arm_timers


def test_correction_grammar():
    assert parse_correction("no 10 minutes") == Correction("10 minutes")
    assert parse_correction("not anna but anne instead") == Correction("anne", "anna")
    assert parse_correction("no") is None and parse_correction("actually what time is it") is None
    assert Correction("8").apply("set a timer for 5 minutes") == "set a timer for 8 minutes"
    assert Correction("anne").apply("set a timer for 5 minutes") is None
    assert Correction("anne", "bob").apply("remind me to call anna in 5 minutes") is None
    assert corrected_in_turn("set a timer for 5 no 10 minutes") == "set a timer for 10 minutes"
    assert corrected_in_turn("remind me to say no thanks in 5 minutes") is None


_WORDS = ["no", "not", "anna", "anne", "timer", "minutes", "ten", "5", "actually", "i said", "make that", ",", ".", "'"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join))
def test_any_words_after_a_request_leave_at_most_one_timer_per_request(words):
    """ASR text is outside input: whatever follows a request, a correction never adds a timer."""

    async def run() -> None:
        chat = Conversation()
        await chat.say("Remind me to call Anna in five minutes.")
        reply = await chat.responder.respond(words, chat.ctx)
        if reply is None:
            return
        before = len(chat.pending())
        await chat.say(words)
        if reply.replace_timers or reply.text == NOTHING_TO_CORRECT:
            assert len(chat.pending()) == before
        else:
            assert len(chat.pending()) == before + len(reply.arm_timers)

    asyncio.run(run())


async def test_a_responder_with_an_empty_history_never_arms_on_a_correction():
    chat = Conversation()
    for words in ("I said ten.", "Make that ten minutes.", "Not Anna, Anne."):
        reply = await chat.say(words)
        assert reply.text == NOTHING_TO_CORRECT and not reply.arm_timers
    assert chat.pending() == []


# ---------------------------------------------------------------------------------- through a session


@pytest.fixture(scope="module")
def models() -> HostModels:
    m = load_models(HostConfig(tts="piper"))
    return HostModels(m.asr, m.voice, SkillResponder)


@pytest.fixture(scope="module")
def spoken() -> dict[str, list[bytes]]:
    return say({"timer": "Set a timer for five minutes.", "correction": "No, ten minutes.",
                "which": "What timers do I have?"})  # fmt: skip


@pytest.fixture
async def server(models):
    async with serving(models) as host:
        yield host


def _started(msgs: list[pb.HostMessage], turn_id: int) -> pb.ResponseEvent:
    return next(m.response for m in msgs if response_of(pb.ResponseEvent.STARTED)(m) and m.response.turn_id == turn_id)


async def test_a_barge_in_correction_replaces_the_timer_in_a_session(server, spoken):
    edge = Edge(server.port)
    edge.start()
    await edge.accepted()
    edge.utterance(1, spoken["timer"])
    msgs = await edge.recv_until(lambda m: m.WhichOneof("body") == "audio")
    answer = msgs[-1].audio.response_id
    assert _started(msgs, 1).text == "Okay, a five minute timer, starting now."
    # One second of the answer plays, then the wearer speaks over it.
    edge.silence_frames(50)
    onset = edge.audio(spoken["correction"])
    edge.turn(pb.TurnEvent.SPEECH_START, 2, onset, barge_in=True)
    msgs = await edge.recv_until(
        lambda m: response_of(pb.ResponseEvent.CANCELLED)(m) or response_of(pb.ResponseEvent.DONE)(m)
    )
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.INTERRUPTED, response_id=answer, heard_samples=16000))
    edge.silence_frames(10)
    edge.turn(pb.TurnEvent.TENTATIVE_END, 2, edge.seq - 1)
    edge.turn(pb.TurnEvent.CONFIRMED_END, 2, edge.seq - 1)
    msgs = await edge.recv_until(lambda m: response_of(pb.ResponseEvent.DONE)(m) and m.response.turn_id == 2)
    assert _started(msgs, 2).text == "Okay, ten minutes instead."
    done = msgs[-1].response
    edge.send(playback=pb.PlaybackEvent(kind=pb.PlaybackEvent.FINISHED, response_id=done.response_id,
                                        heard_samples=done.total_samples))  # fmt: skip
    edge.silence_frames(25)
    edge.utterance(3, spoken["which"])
    msgs = await edge.recv_until(lambda m: response_of(pb.ResponseEvent.STARTED)(m) and m.response.turn_id == 3)
    assert _started(msgs, 3).text.startswith("You have a ten minute timer, "), _started(msgs, 3).text
    assert ";" not in _started(msgs, 3).text  # one timer, not two
    await edge.close()
