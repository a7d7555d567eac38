"""How speech over an answer sounds: voicing, pitch, level and flatness, the rule, the wearer's level."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sottovoce.firmware_sim.recordings import recording
from sottovoce.firmware_sim.scenario import read_wav
from sottovoce.host.overlap_sound import SoundConfig, SoundKind, WearerLevel, classify, measure
from sottovoce.proto.codec import SAMPLE_RATE


def _voice(f0: float, seconds: float, dbfs: float = -20.0) -> np.ndarray:
    """A buzz with a voice's harmonics (a glottal-like pulse train), at a given level."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
    x *= 10 ** (dbfs / 20) / np.sqrt(np.mean(x**2))
    return (x * 32767).astype(np.int16)


def _noise(seconds: float, dbfs: float = -20.0, seed: int = 1) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE))
    return (x * 10 ** (dbfs / 20) * 32767).astype(np.int16)


@pytest.mark.parametrize("f0", [90.0, 150.0, 240.0, 380.0])
def test_a_voice_is_voiced_throughout_at_its_pitch_and_far_from_flat(f0):
    s = measure(_voice(f0, 0.6))
    assert s.voicing > 0.9 and s.voiced_s == pytest.approx(s.active_s, abs=0.05)
    assert s.f0_median_hz == pytest.approx(f0, rel=0.04) and s.f0_range_st < 1.0
    assert s.flatness < 0.01


def test_noise_has_no_voice_and_a_flat_spectrum_and_is_nonverbal():
    s = measure(_noise(0.4))
    assert s.voicing < 0.1 and s.flatness > 0.4
    assert classify(s, None).kind is SoundKind.NONVERBAL


def test_level_is_the_median_of_the_active_frames_in_dbfs():
    loud, quiet = measure(_voice(150, 0.5, -20.0)), measure(_voice(150, 0.5, -32.0))
    assert loud.level_dbfs == pytest.approx(-20.0, abs=1.0)
    assert loud.level_dbfs - quiet.level_dbfs == pytest.approx(12.0, abs=0.5)
    padded = np.concatenate([np.zeros(SAMPLE_RATE, np.int16), _voice(150, 0.5, -20.0)])
    assert measure(padded).level_dbfs == pytest.approx(loud.level_dbfs, abs=0.5)  # silence is not the event


def test_nothing_above_the_ambience_is_silent():
    s = measure(_noise(0.5, -60.0), ambient_dbfs=-58.0)
    assert s.active_s == 0.0 and classify(s, None).kind is SoundKind.SILENT
    assert measure(np.zeros(100, np.int16)).active_s == 0.0


def test_long_or_loud_voice_is_speech_short_and_quiet_is_voiced():
    cfg = SoundConfig()
    short = measure(_voice(150, 0.4, -30.0))
    assert classify(short, None).kind is SoundKind.VOICED
    assert classify(short, wearer_dbfs=-20.0).kind is SoundKind.VOICED  # 10 dB under the wearer
    assert classify(short, wearer_dbfs=-30.0 - cfg.loud_db + 1.0).kind is SoundKind.VOICED  # about their level
    assert classify(short, wearer_dbfs=-30.0 - cfg.loud_db - 1.0).kind is SoundKind.SPEECH  # a raised voice
    assert classify(measure(_voice(150, cfg.long_voiced_s + 0.3, -30.0)), None).kind is SoundKind.SPEECH


def test_the_wearer_level_is_the_median_of_their_turns_and_ignores_turns_with_no_voice():
    level = WearerLevel(turns=3)
    assert level.dbfs is None
    for dbfs in (-20.0, -22.0, -40.0):
        level.add_turn(_voice(150, 0.8, dbfs))
    assert level.dbfs == pytest.approx(-22.0, abs=1.0)
    level.add_turn(_noise(0.8, -5.0))  # a noise burst is no turn of speech
    assert level.dbfs == pytest.approx(-22.0, abs=1.0)
    level.add_turn(_voice(150, 0.8, -21.0))  # the oldest turn drops out
    assert level.dbfs == pytest.approx(-22.0, abs=1.0)


def test_real_voices_pitch_the_female_speaker_above_the_male_one():
    male = measure(read_wav(recording("arctic_aew_a0001").path)).f0_median_hz
    female = measure(read_wav(recording("arctic_axb_a0004").path)).f0_median_hz
    assert male is not None and female is not None
    assert 80 < male < 160 < female < 300


@pytest.mark.parametrize("clip", ["coswara_cough_1", "coswara_cough_2"])
def test_real_coughs_are_nonverbal(clip):
    assert classify(measure(read_wav(recording(clip).path)), None).kind is SoundKind.NONVERBAL


@pytest.mark.parametrize(
    "clip", ["sc_stop_0a196374", "sc_stop_6a27a9bf", "sc_stop_b87bdb22", "sc_no_6d818f6c", "sc_wow_62581901"]
)
def test_real_words_are_not_nonverbal(clip):
    assert classify(measure(read_wav(recording(clip).path)), None).kind is not SoundKind.NONVERBAL


@settings(max_examples=60, deadline=None)
@given(arrays(np.int16, st.integers(0, 8000)), st.one_of(st.none(), st.floats(-100.0, 0.0)))
def test_any_audio_measures_to_bounded_figures(pcm, ambient):
    s = measure(pcm, ambient)
    assert 0.0 <= s.voiced_s <= s.active_s <= len(pcm) / SAMPLE_RATE + 0.01
    assert 0.0 <= s.voicing <= 1.0 and 0.0 <= s.flatness <= 1.0 + 1e-9
    assert math.isfinite(s.level_dbfs) and s.f0_range_st >= 0.0
    assert s.f0_median_hz is None or 60.0 <= s.f0_median_hz <= 500.0
    assert classify(s, ambient).kind in SoundKind
