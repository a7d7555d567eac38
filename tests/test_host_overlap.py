"""Reading speech over an answer: backchannel or interruption, from its words."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.firmware_sim.recordings import recording
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.asr import WhisperAsr
from sottovoce.host.overlap import OverlapKind, judge_overlap, read_overlap
from sottovoce.proto.codec import OpusDecoder, OpusEncoder, frames_of

SURE = 0.9


@pytest.mark.parametrize(
    "text",
    ["Yes.", "Yeah.", "Yeah, yeah.", "Okay.", "OK.", "Right.", "Mm-hmm.", "Mhm.", "Uh-huh.", "I see.", "Sure.",
     "Got it.", "Oh, okay.", "Hmm.", "All right, thank you.", "", "(coughs)", "[laughter]", "*clears throat*",
     "..."],
)  # fmt: skip
def test_listening_words_hesitations_and_sounds_are_backchannels(text):
    assert judge_overlap(text, SURE).kind is OverlapKind.BACKCHANNEL


@pytest.mark.parametrize(
    "text",
    ["Stop.", "Wait.", "No.", "Go.", "Hold on.", "What about tomorrow?", "Yeah, stop.", "Okay, but what about Anne?",
     "No, ten minutes.", "I see a problem.", "Right, and set a timer."],
)  # fmt: skip
def test_short_commands_and_any_content_are_interruptions(text):
    reading = judge_overlap(text, SURE)
    assert reading.kind is OverlapKind.INTERRUPTION, reading
    assert reading.text == text


def test_content_the_recogniser_doubts_is_unsure_but_backchannel_words_and_commands_are_not():
    assert judge_overlap("Hold the door.", 0.3).kind is OverlapKind.UNSURE
    assert judge_overlap("Yeah.", 0.3).kind is OverlapKind.BACKCHANNEL
    assert judge_overlap("Stop.", 0.3).kind is OverlapKind.INTERRUPTION


@pytest.mark.parametrize(
    "text, command",
    [("Stop.", True), ("Um, wait.", True), ("Hold on, what?", True), ("No, ten minutes.", True),
     ("Stop. What is twelve times seven?", True), ("What about tomorrow?", False), ("Yeah, stop.", False),
     ("Go.", False), ("Yeah.", False)],
)  # fmt: skip
def test_a_command_to_stop_is_marked_where_the_speech_begins_with_one(text, command):
    assert judge_overlap(text, SURE).command is command


@given(st.text(max_size=80), st.floats(min_value=0.0, max_value=1.0))
def test_any_transcript_gets_one_of_the_three_readings(text, confidence):
    reading = judge_overlap(text, confidence)
    assert reading.kind in OverlapKind and reading.text == text and reading.reason


@given(st.lists(st.sampled_from(["yeah", "okay", "mm-hmm", "uh-huh", "i see", "right", "um", "oh"]), min_size=1,
                max_size=6))  # fmt: skip
def test_any_run_of_backchannel_phrases_is_a_backchannel(phrases):
    assert judge_overlap(", ".join(phrases) + ".", SURE).kind is OverlapKind.BACKCHANNEL


@given(st.lists(st.sampled_from(["yeah", "okay", "right", "um"]), max_size=3), st.sampled_from(["stop", "wait", "no"]))
def test_a_command_after_listening_words_still_interrupts(phrases, command):
    assert judge_overlap(" ".join([*phrases, command]), SURE).kind is OverlapKind.INTERRUPTION


@pytest.fixture(scope="module")
def asr():
    model = WhisperAsr()
    yield model
    model.close()


def _through_opus(pcm: np.ndarray) -> np.ndarray:
    """The clip as the host has it: encoded on the device, decoded from the uplink."""
    enc, dec = OpusEncoder(), OpusDecoder()
    return np.concatenate([dec.decode(enc.encode(f)) for f in frames_of(pcm)])


@pytest.mark.parametrize(
    "clip, kind",
    [("sc_yes_0b40aa8e", OverlapKind.BACKCHANNEL), ("sc_right_0d82fd99", OverlapKind.BACKCHANNEL),
     ("sc_stop_0a196374", OverlapKind.INTERRUPTION)],
)  # fmt: skip
async def test_real_voices_over_an_answer_are_read_by_their_words(asr, clip, kind):
    reading = await read_overlap(asr, _through_opus(read_wav(recording(clip).path)))
    assert reading.kind is kind, reading


async def test_a_real_no_is_never_taken_for_a_backchannel(asr):
    # After Opus this speaker's "No." reads as a doubtful "Go.": content the recogniser doubts is
    # left to the edge's length rule (0.52 s of speech: an interruption), never let play on.
    reading = await read_overlap(asr, _through_opus(read_wav(recording("sc_no_0a2b400e").path)))
    assert reading.kind is not OverlapKind.BACKCHANNEL, reading


async def test_a_cough_like_burst_of_noise_is_no_interruption(asr):
    rng = np.random.default_rng(7)
    burst = (rng.normal(0, 3000, 5600) * np.hanning(5600)).astype(np.int16)
    reading = await read_overlap(asr, _through_opus(np.concatenate([burst, np.zeros(1600, np.int16)])))
    assert reading.kind is OverlapKind.BACKCHANNEL, reading


async def test_no_audio_is_unsure(asr):
    assert (await read_overlap(asr, np.zeros(0, np.int16))).kind is OverlapKind.UNSURE
