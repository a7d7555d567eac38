"""Speaking one utterance in parts: each part's audio is that part's words, cut where the
engine itself says the parts meet (eSpeak's SSML marks, Piper's phoneme durations)."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.host.asr import WhisperAsr, word_error_rate
from sottovoce.host.tts import EspeakTts, PiperTts, Prosody, TtsError, trim_silence

PARTS = ("Please call my sister,", "then send a message to my brother.")


@pytest.fixture(scope="module")
def asr() -> WhisperAsr:
    return WhisperAsr()


@pytest.fixture(scope="module", params=["espeak", "piper"])
def engine(request):
    return EspeakTts() if request.param == "espeak" else PiperTts(deterministic=True)


def test_each_part_says_its_own_words(engine, asr):
    parts = engine.synthesize_parts(PARTS, prosody=Prosody(rate=0.9))
    assert len(parts) == 2 and all(p.dtype == np.int16 and trim_silence(p).size > 3200 for p in parts)
    for text, audio in zip(PARTS, parts, strict=True):
        heard = asr.transcribe(audio).text
        assert word_error_rate(text, heard) <= 0.25, (text, heard)


def test_parts_are_one_utterance(engine):
    parts = engine.synthesize_parts(PARTS)
    whole = engine.synthesize(" ".join(PARTS))
    joined = trim_silence(np.concatenate(parts))
    # the same speech as the whole sentence (Piper phonemises the parts apart: a little slack)
    assert abs(joined.size - trim_silence(whole).size) <= 0.1 * whole.size
    # and the first part is not read as a finished sentence: no final lengthening, so it is
    # not longer than the same words spoken alone as a sentence
    alone = trim_silence(engine.synthesize(PARTS[0].rstrip(",") + "."))
    assert trim_silence(parts[0]).size <= alone.size * 1.02


def test_a_single_part_is_the_whole_utterance(engine):
    (only,) = map(trim_silence, engine.synthesize_parts(["Set a timer for ten minutes."]))
    whole = trim_silence(engine.synthesize("Set a timer for ten minutes."))
    assert abs(only.size - whole.size) <= 0.05 * whole.size


def test_markup_in_a_part_is_spoken_text_not_ssml():
    parts = EspeakTts().synthesize_parts(["Fish & chips <now>,", "please."])
    assert len(parts) == 2 and all(trim_silence(p).size for p in parts)


def test_unknown_voice_is_a_clear_error():
    with pytest.raises(TtsError):
        EspeakTts().synthesize_parts(["a", "b"], voice="xx-nope")
    with pytest.raises(TtsError):
        PiperTts().synthesize_parts(["a", "b"], voice="nope")
