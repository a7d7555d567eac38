"""The whisper renderer: quiet at the ambient-adapted target level, and genuinely unvoiced."""

import numpy as np
import pytest

from sottovoce.host.tts import EspeakTts, PiperTts, trim_silence
from sottovoce.host.whisper import LevelPolicy, WhisperVoice, active_rms_dbfs, spectral_flatness, voicing

TEXT = "Okay, a five minute timer, starting now. Twelve times seven is eighty-four."


@pytest.fixture(scope="module")
def piper() -> PiperTts:
    return PiperTts()


def test_level_policy_follows_ambient_and_clamps():
    p = LevelPolicy()
    assert p.target_dbfs(-50) == pytest.approx(-38)
    assert p.target_dbfs(-90) == -42 and p.target_dbfs(-10) == -24
    assert -42 <= p.target_dbfs(None) <= -24


@pytest.mark.parametrize("ambient", [-70.0, -45.0, -30.0])
def test_whisper_is_at_target_level(piper, ambient):
    pcm = WhisperVoice(piper).speak(TEXT, ambient)
    assert active_rms_dbfs(pcm) == pytest.approx(LevelPolicy().target_dbfs(ambient), abs=1.0)
    assert np.abs(pcm.astype(int)).max() < 32767 * 0.9


def test_piper_whisper_is_unvoiced(piper):
    plain = trim_silence(piper.synthesize(TEXT))
    whispered = WhisperVoice(piper).speak(TEXT, -50)
    assert voicing(plain) > 0.15 and voicing(whispered) < 0.05
    assert spectral_flatness(whispered) > spectral_flatness(plain) + 0.04


def test_espeak_whisper_is_unvoiced():
    tts = EspeakTts()
    plain = trim_silence(tts.synthesize(TEXT))
    whispered = WhisperVoice(tts).speak(TEXT, -50)
    assert voicing(plain) > 0.15 and voicing(whispered) < 0.05
