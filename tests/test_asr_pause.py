"""Pauses in a turn's audio: how long its end has been quiet, and the partial a pause starts
(real FLEURS speech, real Whisper base)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.asr import AsrConfig, StreamingTranscriber, WhisperAsr, trailing_quiet_s
from sottovoce.host.translation.models import MULTILINGUAL_TOKENS_PER_S
from sottovoce.host.translation.whisper_base import model_dir
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE

CLIPS = Path(__file__).parent.parent / "tools" / "translate_data" / "clips"
# "Esto parece tener sentido, | ya que en la tierra ..." : the speaker breathes after "sentido,"
# from about 3.25 s to 3.58 s of the recording
PAUSED_AT_S, PAUSE_END_S = 3.25, 3.58


def clip() -> np.ndarray:
    return read_wav(CLIPS / "fleurs_es_003.wav")


def test_the_quiet_after_a_clause_is_measured_on_a_real_recording():
    pcm = clip()
    at = lambda s: pcm[: int(s * SAMPLE_RATE)]  # noqa: E731
    assert trailing_quiet_s(at(3.0)) == 0.0  # mid-word
    assert 0.22 <= trailing_quiet_s(at(3.5)) <= 0.3  # a quarter second into the breath
    assert trailing_quiet_s(at(3.7)) == 0.0  # speaking again
    # the same from a window that holds only the last 2 s (the turn's level is the window's)
    assert 0.22 <= trailing_quiet_s(pcm[int(1.5 * SAMPLE_RATE) : int(3.5 * SAMPLE_RATE)]) <= 0.3


def test_silence_alone_is_no_pause():
    assert trailing_quiet_s(np.zeros(SAMPLE_RATE, np.int16)) == 0.0
    assert trailing_quiet_s(np.zeros(0, np.int16)) == 0.0
    assert trailing_quiet_s(clip()[:3000]) == 0.0  # the room before the first word


@given(arrays(np.int16, st.integers(0, 4000)))
def test_the_quiet_is_never_longer_than_the_audio(pcm):
    assert 0.0 <= trailing_quiet_s(pcm) <= len(pcm) / SAMPLE_RATE


async def partials_heard(asr: WhisperAsr, pcm: np.ndarray, pause_s: float, until_s: float) -> list:
    """(seconds fed, text, quiet at its end) of each partial handed on while ``pcm`` is fed up to
    ``until_s``, every partial due run to its end before the next frame."""
    fed = 0
    heard: list[tuple[float, str, float]] = []

    async def on_partial(text: str) -> None:
        heard.append((fed / SAMPLE_RATE, text, transcriber.partial_quiet_s))

    transcriber = StreamingTranscriber(asr, lambda: pcm[:fed], on_partial)
    transcriber.language = "es"
    transcriber.pause_partial_s = pause_s
    while fed < until_s * SAMPLE_RATE:
        fed += FRAME_SAMPLES
        transcriber.audio_grew(fed)
        await transcriber.caught_up()
    return heard


async def test_a_pause_starts_a_partial_that_ends_in_it():
    # partials at long intervals: only the pause can start one before 4 s
    asr = WhisperAsr(
        AsrConfig(partial_every_s=30.0, max_tokens_per_s=MULTILINGUAL_TOKENS_PER_S), model_path=model_dir(),
        language=None,
    )  # fmt: skip
    try:
        assert await partials_heard(asr, clip(), 0.0, PAUSE_END_S + 0.2) == []
        heard = await partials_heard(asr, clip(), 0.25, PAUSE_END_S + 0.2)
        assert len(heard) == 1, heard
        started_s, text, quiet_s = heard[0]
        assert PAUSED_AT_S + 0.25 <= started_s <= PAUSE_END_S
        assert quiet_s >= 0.25
        assert text.rstrip(".,").lower().endswith("sentido"), text
    finally:
        asr.close()
