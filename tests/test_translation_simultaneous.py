"""The other person's turn heard word by word, on a real recording (FLEURS, Spanish): Whisper base
gives each word its place and probability, and the simultaneous listener commits segments while the
audio still grows, decodes only what is not committed, and says every word of the turn once."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.asr import word_error_rate
from sottovoce.host.translation.models import multilingual_asr
from sottovoce.host.translation.segmenter import Segmenter
from sottovoce.host.translation.simultaneous import SimultaneousListener
from sottovoce.proto.codec import SAMPLE_RATE
from sottovoce.tools.bench_translate import DATA

CLIP = DATA / "clips" / "fleurs_es_002.wav"
TRANSCRIPT = (
    "fue tanta la cantidad de gente que se concentró que no todos pudieron acceder al funeral en la plaza de san pedro"
)


@pytest.fixture(scope="module")
def asr():
    model = multilingual_asr()
    yield model
    model.close()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return np.concatenate([np.zeros(SAMPLE_RATE // 4, np.int16), read_wav(CLIP), np.zeros(SAMPLE_RATE // 2, np.int16)])


def test_each_word_comes_with_its_place_in_the_audio_and_its_probability(asr, speech):
    heard = asr.hear_words_blocking(speech, language="es")
    assert heard.language == "es" and word_error_rate(TRANSCRIPT, heard.text) < 0.25
    starts = [w.start for w in heard.words]
    assert starts == sorted(starts) and all(w.start <= w.end <= heard.audio_s for w in heard.words)
    assert all(0.0 <= w.probability <= 1.0 for w in heard.words)
    assert np.median([w.probability for w in heard.words]) > 0.7
    # the words lie where they were said: the first after the leading quiet, the last before the trailing one
    assert heard.words[0].start >= 0.15 and heard.words[-1].end <= heard.audio_s - 0.3
    assert asr.hear_words_blocking(np.zeros(SAMPLE_RATE, np.int16), language="es").words == ()


async def test_a_turn_is_committed_while_it_grows_and_every_word_is_said_once(asr, speech):
    fed = 0
    segments: list[tuple[int, str]] = []  # (samples fed when committed, text)
    segmenter = Segmenter()
    listener = SimultaneousListener(
        asr, lambda: speech[:fed], segmenter, lambda text: segments.append((fed, text)), language="es"
    )
    step = round(asr.config.partial_every_s * SAMPLE_RATE)
    while fed < len(speech):
        fed = min(len(speech), fed + step)
        listener.audio_grew(fed)
        await asyncio.sleep(0)
        await listener.caught_up()
    heard, rest = await listener.final(speech)
    assert word_error_rate(TRANSCRIPT, heard.text) < 0.25
    during = [text for at, text in segments if at < len(speech) - SAMPLE_RATE]
    assert len(during) >= 3  # said while they spoke, not at the end
    said = " ".join([t for _, t in segments] + [rest]).split()
    assert said == segmenter.said  # every committed word handed on once, in order
    assert word_error_rate(TRANSCRIPT, " ".join(said)) < 0.35  # nothing repeated, nothing lost
    # each partial decodes the audio not yet committed (and a little said before it), not the turn
    assert listener.partial_audio_s / listener.partial_decodes < 0.5 * len(speech) / SAMPLE_RATE
