"""Reading speech over an answer: backchannel or interruption, from its words and its sound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sottovoce.firmware_sim.recordings import recording, recordings
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.asr import WhisperAsr
from sottovoce.host.overlap import OverlapHistory, OverlapKind, judge_overlap, read_overlap
from sottovoce.host.overlap_sound import SoundKind, SoundReading
from sottovoce.proto.codec import OpusDecoder, OpusEncoder, frames_of

SURE = 0.9
DOUBT = 0.3
COUGH = SoundReading(SoundKind.NONVERBAL, "unvoiced, noise-like")
LOUD = SoundReading(SoundKind.SPEECH, "as loud as the wearer")
QUIET = SoundReading(SoundKind.VOICED, "short or quiet")


@pytest.mark.parametrize(
    "text",
    ["Yes.", "Yeah.", "Yeah, yeah.", "Okay.", "OK.", "Right.", "Mm-hmm.", "Mhm.", "Uh-huh.", "I see.", "Sure.",
     "Got it.", "Oh, okay.", "Hmm.", "All right, thank you.", "", "(coughs)", "[laughter]", "*clears throat*",
     "...", "And the MHM.", "The."],
)  # fmt: skip
def test_listening_words_hesitations_and_sounds_are_backchannels(text):
    assert judge_overlap(text, SURE).kind is OverlapKind.BACKCHANNEL


@pytest.mark.parametrize(
    "text",
    ["Stop.", "Wait.", "No.", "Go.", "Hold on.", "What about tomorrow?", "Yeah, stop.", "Okay, but what about Anne?",
     "No, ten minutes.", "I see a problem.", "Right, and set a timer.", "And the weather?"],
)  # fmt: skip
def test_short_commands_and_any_content_are_interruptions(text):
    reading = judge_overlap(text, SURE)
    assert reading.kind is OverlapKind.INTERRUPTION, reading
    assert reading.text == text


ANSWER = (
    "I can tell you the time and the date, check your battery, set timers and reminders, and do quick sums. "
    "Anything else, I'll answer as best I can."
)


@pytest.mark.parametrize("text", ["can thug you", "I can answer here.", "Check your battery.", "the time and"])
def test_the_answers_own_words_are_its_echo_and_it_plays_on(text):
    reading = judge_overlap(text, SURE, LOUD, answer_text=ANSWER)
    assert reading.kind is OverlapKind.BACKCHANNEL and "own words" in reading.reason
    assert judge_overlap(text, SURE, LOUD).kind is not OverlapKind.BACKCHANNEL  # without the answer: content


@pytest.mark.parametrize(
    "text", ["What about tomorrow?", "Set a timer for ten minutes instead.", "Stop.", "Wait, what?"]
)
def test_the_wearers_own_words_and_commands_over_an_answer_still_interrupt(text):
    assert judge_overlap(text, SURE, LOUD, answer_text=ANSWER + " Stop and wait.").kind is OverlapKind.INTERRUPTION


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


@pytest.mark.parametrize(
    "text", ["Hahaha.", "Hahahahahahahaha", "Hehe.", "Mmh.", "MMMHM", "MMMM MMM", "Pfft!", "Shh, hmm."]
)
def test_laughs_hums_and_vowelless_spellings_are_sounds_not_words(text):
    # a hush is the one vowel-less spelling that asks for quiet
    expected = OverlapKind.INTERRUPTION if text.startswith("Shh") else OverlapKind.BACKCHANNEL
    assert judge_overlap(text, DOUBT).kind is expected


@pytest.mark.parametrize("text", ["Thank you.", "Tush", "I'm gonna be back.", "Bye.", "What about tomorrow?"])
def test_a_nonverbal_sound_is_a_backchannel_whatever_whisper_wrote(text):
    for confidence in (DOUBT, SURE):
        reading = judge_overlap(text, confidence, COUGH)
        assert reading.kind is OverlapKind.BACKCHANNEL and reading.sound is SoundKind.NONVERBAL, reading


@pytest.mark.parametrize("text", ["Stop.", "Wait.", "No.", "Hold on, what?"])
def test_a_command_stops_it_even_in_a_sound_that_measures_as_nonverbal(text):
    for confidence in (DOUBT, SURE):
        reading = judge_overlap(text, confidence, COUGH)
        assert reading.kind is OverlapKind.INTERRUPTION and reading.command, reading


def test_doubted_content_is_an_interruption_in_plain_speech_and_unsure_in_a_short_quiet_sound():
    assert judge_overlap("Start.", DOUBT, LOUD).kind is OverlapKind.INTERRUPTION
    assert judge_overlap("Start.", DOUBT, QUIET).kind is OverlapKind.UNSURE
    assert judge_overlap("Start.", DOUBT).kind is OverlapKind.UNSURE


def test_the_sound_never_makes_backchannel_words_an_interruption_nor_a_command_a_backchannel():
    for sound in (LOUD, QUIET, None):
        assert judge_overlap("Yeah, okay.", DOUBT, sound).kind is OverlapKind.BACKCHANNEL
        assert judge_overlap("Stop.", DOUBT, sound).kind is OverlapKind.INTERRUPTION


@given(st.text(max_size=80), st.floats(min_value=0.0, max_value=1.0), st.sampled_from(list(SoundKind)))
def test_any_transcript_and_sound_get_one_of_the_three_readings(text, confidence, kind):
    reading = judge_overlap(text, confidence, SoundReading(kind, "x"))
    assert reading.kind in OverlapKind and reading.text == text and reading.reason and reading.sound is kind


# --- speech read again as it goes on ---------------------------------------------------------------


def test_doubted_words_that_spell_a_hum_anew_after_listening_words_are_a_backchannel():
    """Piper's "Mm-hm." over an answer, read as the edge asks while it goes on and once it ends."""
    earlier = judge_overlap("And the", DOUBT, QUIET)
    assert earlier.kind is OverlapKind.BACKCHANNEL and earlier.listening == ("and", "the")
    whole = judge_overlap("MMA Chen", DOUBT, QUIET, listened=(earlier.listening,))
    assert whole.kind is OverlapKind.BACKCHANNEL and "not going on" in whole.reason
    assert judge_overlap("and the mason.", DOUBT, QUIET, listened=(("and", "then"),)).kind is OverlapKind.BACKCHANNEL
    assert judge_overlap("MMA Chen", DOUBT, QUIET).kind is OverlapKind.UNSURE  # no earlier reading: as ever


@pytest.mark.parametrize(
    "text, confidence, sound, kind",
    [("Okay, Cole Anna.", DOUBT, QUIET, OverlapKind.UNSURE),  # goes on from "okay": left to length
     ("Okay, but what about Anne?", SURE, QUIET, OverlapKind.INTERRUPTION),  # content the recogniser is sure of
     ("Start.", DOUBT, LOUD, OverlapKind.INTERRUPTION),  # doubted, in plain speech
     ("Stop.", DOUBT, QUIET, OverlapKind.INTERRUPTION),  # a command
     ("Hold the door.", SURE, None, OverlapKind.INTERRUPTION)],
)  # fmt: skip
def test_earlier_listening_words_leave_content_commands_and_words_going_on_from_them_as_they_were(
    text, confidence, sound, kind
):
    reading = judge_overlap(text, confidence, sound, listened=(("okay",),))
    assert reading.kind is kind, reading


def test_the_history_keeps_the_listening_words_of_the_same_speech_only():
    history = OverlapHistory()
    history.add(100, judge_overlap("", SURE))  # no words: no evidence (a real "stop" at 250 ms)
    history.add(100, judge_overlap("Start.", DOUBT))
    assert history.listened(100) == ()
    assert judge_overlap("Start.", DOUBT, listened=history.listened(100)).kind is OverlapKind.UNSURE
    history.add(100, judge_overlap("Yeah.", SURE))
    history.add(100, judge_overlap("Yeah, yeah.", SURE))
    assert history.listened(100) == (("yeah",), ("yeah", "yeah")) and history.listened(101) == ()
    history.add(300, judge_overlap("Okay.", SURE))  # new speech: the old is forgotten
    assert history.listened(300) == (("okay",),) and history.listened(100) == ()


LISTENED = st.lists(st.lists(st.sampled_from(["okay", "and", "the", "yeah", "mhm"]), max_size=3).map(tuple), max_size=3)


@given(st.text(max_size=80), st.floats(min_value=0.0, max_value=1.0), LISTENED)
def test_earlier_readings_only_ever_make_an_unsure_reading_a_backchannel(text, confidence, listened):
    alone, after = judge_overlap(text, confidence), judge_overlap(text, confidence, listened=tuple(listened))
    assert after.kind is alone.kind or (alone.kind is OverlapKind.UNSURE and after.kind is OverlapKind.BACKCHANNEL)
    assert after.command is alone.command


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


@pytest.mark.parametrize("clip", ["coswara_cough_1", "coswara_cough_2"])
async def test_real_coughs_over_an_answer_are_backchannels(asr, clip):
    reading = await read_overlap(asr, _through_opus(read_wav(recording(clip).path)))
    assert reading.kind is OverlapKind.BACKCHANNEL and reading.sound is SoundKind.NONVERBAL, reading


@pytest.mark.parametrize("clip", ["antum_laugh_1", "antum_laugh_2"])
async def test_real_laughs_over_an_answer_are_never_read_as_interruptions(asr, clip):
    # Voiced like speech, so the sound cannot tell; Whisper writes nothing, a run of "ha", or
    # doubted words ("I'm so sorry.", 0.20) that leave the edge to decide by length.
    reading = await read_overlap(asr, _through_opus(read_wav(recording(clip).path)))
    assert reading.kind is not OverlapKind.INTERRUPTION, reading


# sc_no_0a2b400e reads as a doubted "Go." after Opus: test_a_real_no_is_never_taken_for_a_backchannel
@pytest.mark.parametrize(
    "clip", [r.id for r in recordings().values() if r.kind == "interruption" and r.id != "sc_no_0a2b400e"]
)
async def test_every_real_stop_and_no_is_an_interruption_with_the_sound_read_too(asr, clip):
    reading = await read_overlap(asr, _through_opus(read_wav(recording(clip).path)), wearer_dbfs=None)
    assert reading.kind is OverlapKind.INTERRUPTION and reading.command, reading


@pytest.mark.parametrize("clip", [r.id for r in recordings().values() if r.kind == "backchannel"])
async def test_every_real_backchannel_word_is_a_backchannel_with_the_sound_read_too(asr, clip):
    reading = await read_overlap(asr, _through_opus(read_wav(recording(clip).path)))
    assert reading.kind is OverlapKind.BACKCHANNEL, reading


async def test_a_cough_like_burst_of_noise_is_no_interruption(asr):
    rng = np.random.default_rng(7)
    burst = (rng.normal(0, 3000, 5600) * np.hanning(5600)).astype(np.int16)
    reading = await read_overlap(asr, _through_opus(np.concatenate([burst, np.zeros(1600, np.int16)])))
    assert reading.kind is OverlapKind.BACKCHANNEL, reading


async def test_no_audio_is_unsure(asr):
    assert (await read_overlap(asr, np.zeros(0, np.int16))).kind is OverlapKind.UNSURE


def _as_the_edge_asks(pcm: np.ndarray) -> list[np.ndarray]:
    """The slices the edge asks about: from 200 ms of speech every 100 ms while it goes on, then the
    whole (each with 100 ms of the silence before it, as the host reads them)."""
    lead = np.zeros(1600, np.int16)
    pcm = np.concatenate([lead, pcm])
    return [pcm[: 1600 + ms * 16] for ms in range(200, (len(pcm) - 1600) // 16, 100)] + [pcm]


@pytest.mark.parametrize("clip", sorted(i for i, c in recordings().items() if c.kind == "interruption"))
async def test_every_real_stop_and_no_read_as_it_goes_on_is_an_interruption_at_its_end(asr, clip):
    """Earlier readings of listening words must not turn a real "stop" or "no" into a backchannel."""
    history = OverlapHistory()
    readings = [await read_overlap(asr, _through_opus(p), history=history, first_seq=7)
                for p in _as_the_edge_asks(read_wav(recording(clip).path))]  # fmt: skip
    assert readings[-1].kind is OverlapKind.INTERRUPTION, readings


async def test_a_synthetic_mm_hm_read_as_it_goes_on_is_a_backchannel_at_its_end(asr):
    """Piper's "Mm-hm." lasts 0.7-0.9 s; Whisper spells it anew at every length ("And", "and the
    making.", "and the nature.", ...): the reading of the whole must still be a backchannel."""
    from sottovoce.host.tts import PiperTts

    history = OverlapHistory()
    readings = [await read_overlap(asr, _through_opus(p), history=history, first_seq=7)
                for p in _as_the_edge_asks(PiperTts(deterministic=True).synthesize("Mm-hm."))]  # fmt: skip
    assert readings[-1].kind is OverlapKind.BACKCHANNEL, readings
