"""The text half of end-of-turn detection: does a transcript read as a finished sentence?"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.host.completeness import HANGING_WORDS, MIN_ASR_CONFIDENCE, MIN_LAST_WORD_CONFIDENCE, judge

SURE = 0.9


@pytest.mark.parametrize(
    "text",
    ["What time is it?", "Set a timer for 5 minutes.", "Stop. What is 12 times 7?", "Thank you.", "No.",
     "Turn the lights on", "Take a picture of this.", "Yes I can.", "They did.", "What is 12 times 7?"],
)  # fmt: skip
def test_finished_sentences_read_complete(text):
    assert judge(text, SURE).complete, judge(text, SURE).reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [("Remind me to call my", "ends on 'my'"), ("I was going to the station and", "ends on 'and'"),
     ("Can you remind me to, um", "ends on 'um'"), ("My number is 555,", "trails off"),
     ("We should try the new place...", "trails off"), ("...", "no words"), ("", "no words"),
     ("My battery is.", "ends on 'is'")],
)  # fmt: skip
def test_unfinished_sentences_do_not(text, reason):
    verdict = judge(text, SURE)
    assert not verdict.complete and verdict.reason == reason


def test_an_unsure_transcript_is_never_complete_nor_surely_unfinished():
    # Misrecognised words would otherwise be judged as confidently as right ones.
    assert judge("What time is it?", MIN_ASR_CONFIDENCE * 1.01).complete
    verdict = judge("What time is it?", MIN_ASR_CONFIDENCE * 0.99)
    assert not verdict.complete and not verdict.sure and verdict.reason.startswith("unsure transcript")
    assert not judge("", SURE).sure
    assert judge("Set a timer for", SURE).sure  # unfinished, and sure of it: the edge may wait


def test_an_unsure_last_word_is_no_reading():
    # "station and," heard as "station end.": the sentence is sure, its last word is not
    assert judge("I was going to the station end.", SURE, MIN_LAST_WORD_CONFIDENCE * 1.01).complete
    verdict = judge("I was going to the station end.", SURE, MIN_LAST_WORD_CONFIDENCE * 0.99)
    assert not verdict.complete and not verdict.sure and verdict.reason.startswith("unsure of 'end'")


@pytest.mark.parametrize("text", ["The code is 417.", "Call me back on 555 0134", "Leave at half past six."])
def test_a_statement_ending_on_a_number_says_nothing(text):
    # a dictated number may go on, and may as well be all of it: the sound decides
    verdict = judge(text, SURE)
    assert not verdict.complete and not verdict.sure and verdict.reason == "a number may go on"


def test_one_as_a_pronoun_is_not_a_number():
    assert judge("This street is quieter than the last one.", SURE).complete
    assert not judge("My code is four one", SURE).sure


@given(st.text(max_size=200), st.floats(min_value=0.0, max_value=1.0))
def test_any_transcript_gets_a_verdict(text, confidence):
    verdict = judge(text, confidence)
    assert isinstance(verdict.complete, bool) and verdict.reason


@given(st.text(alphabet="abcdefghij ", max_size=60), st.sampled_from(sorted(HANGING_WORDS)))
def test_a_hanging_last_word_is_never_complete(head, last):
    assert not judge(f"{head} {last}", SURE).complete


def test_a_finished_question_is_marked_as_one():
    assert judge("Stop. What is 12 times 7?", SURE).question
    assert not judge("Set a timer for 5 minutes.", SURE).question
    assert not judge("What is the?", SURE).question  # not complete, so not a finished question
