"""The language side of end-of-turn: the offline language model's probability that the words so
far are the whole message, and the host's reading of the words built on it."""

from __future__ import annotations

import pytest

from sottovoce.host.answer import AnswerPipeline
from sottovoce.host.asr import AsrResult
from sottovoce.host.completeness import END_PROBABILITY, UNFINISHED_PROBABILITY, judge
from sottovoce.host.end_of_utterance import EndOfUtterance, normalise

FINISHED = ("what time does the pharmacy open", "set a timer for ten minutes", "is it going to rain today",
            "what's the capital of france")  # fmt: skip
# Each ends on a content word or none at all that the host's rules alone read as complete, or on
# a word those rules already catch ("my", "a").
UNFINISHED = ("remind me to call my", "what is the weather like in", "i want to order a",
              "he should make inquiries as to symptoms and time at which", "send a message to john saying")  # fmt: skip


@pytest.fixture(scope="module")
def eou():
    model = EndOfUtterance()
    yield model
    model.close()


def test_finished_requests_are_probable_ends_and_fragments_are_not(eou):
    for text in FINISHED:
        assert eou.probability(text) >= END_PROBABILITY, text
    for text in UNFINISHED:
        assert eou.probability(text) < UNFINISHED_PROBABILITY, text


def test_whispers_punctuation_and_case_say_nothing(eou):
    # Whisper closes every fragment with a full stop: the model must not see it.
    assert normalise("Set a timer, for ten minutes.") == "set a timer for ten minutes"
    assert eou.probability("Set a timer, for ten minutes.") == eou.probability("set a timer for ten minutes")
    assert eou.probability("What is the weather like in.") < UNFINISHED_PROBABILITY


def test_the_same_words_always_read_the_same(eou):
    first = eou.probability("what time is it")
    eou.probability("what time is it you said")  # shares the words' start
    eou.probability("remind me to")
    assert eou.probability("what time is it") == first


def test_no_words_are_no_end(eou):
    assert eou.probability("") == 0.0 and eou.probability(" ... ") == 0.0


def test_a_long_transcript_is_read_by_its_last_words(eou):
    long = "I said that " * 40 + "set a timer for ten minutes"
    assert eou.probability(long) >= END_PROBABILITY
    assert eou.probability("I said that " * 40 + "remind me to call my") < UNFINISHED_PROBABILITY


def test_the_probability_decides_what_the_rules_let_through():
    text = "He should make inquiries as to symptoms and time at which."
    assert judge(text, 0.9).complete  # no rule catches it
    verdict = judge(text, 0.9, end_probability=UNFINISHED_PROBABILITY / 2)
    assert not verdict.complete and verdict.sure
    unsure = judge(text, 0.9, end_probability=(UNFINISHED_PROBABILITY + END_PROBABILITY) / 2)
    assert not unsure.complete and not unsure.sure
    assert judge(text, 0.9, end_probability=END_PROBABILITY).complete
    question = judge("How far is the station?", 0.9, end_probability=END_PROBABILITY)
    assert question.complete and question.question


def test_rules_and_recogniser_doubts_still_stand_over_a_probable_end():
    assert not judge("Remind me to call my", 0.9, end_probability=1.0).complete
    assert not judge("What time is it?", 0.3, end_probability=1.0).sure  # the words are a guess
    assert not judge("My code is 417", 0.9, end_probability=1.0).sure  # a dictated number may go on


def _heard(text: str) -> AsrResult:
    return AsrResult(text, no_speech_prob=0.01, avg_logprob=-0.1, audio_s=2.0, decode_s=0.1, window_s=2.0)


async def test_the_hosts_reading_of_the_words_uses_the_model(eou):
    # The reading a TurnHint carries: what the rules alone would call complete, the model does not.
    with_model = AnswerPipeline(None, None, None, None, end_of_utterance=eou)  # type: ignore[arg-type]
    rules_only = AnswerPipeline(None, None, None, None)  # type: ignore[arg-type]
    fragment = _heard("I want to go to the shop at which.")
    assert (await rules_only.read(fragment)).complete
    verdict = await with_model.read(fragment)
    assert not verdict.complete and verdict.sure
    assert (await with_model.read(_heard("What time does the pharmacy open?"))).complete
    counters = with_model.counters
    assert (counters.hints_complete, counters.hints_incomplete, counters.hints_unsure) == (1, 1, 0)
