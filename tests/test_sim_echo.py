"""The simulator's echo path: given relative to the wearer (up to +12 dB and beyond), optionally
coloured like bone conduction, validated like every scenario number."""

from __future__ import annotations

import numpy as np
import pytest

from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.scenario import Echo, ScenarioError, parse_scenario
from sottovoce.firmware_sim.simulator import Simulator
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE


def _tone(hz: float, dbfs: float, frames: int) -> list[np.ndarray]:
    t = np.arange(frames * FRAME_SAMPLES) / SAMPLE_RATE
    x = np.sqrt(2) * 32768 * 10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)
    return list(np.round(x).astype(np.int16).reshape(frames, FRAME_SAMPLES))


def _capture(mic: Mic, ear: list[np.ndarray]) -> np.ndarray:
    out = []
    for frame in ear:
        mic.hear_speaker(frame)
        out.append(mic.capture(np.zeros(FRAME_SAMPLES)))
    return np.concatenate(out).astype(np.float64)


def _dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x**2) / 32768**2))


@pytest.mark.parametrize("level_db", [-12.0, 0.0, 12.0])
def test_the_echo_level_is_relative_to_the_wearer(level_db):
    mic = Mic(None, Echo(level_db=level_db, lowpass_hz=8000), wearer_dbfs=-32.0, speaker_dbfs=-38.0)
    heard = _capture(mic, _tone(200, -38.0, 50))[FRAME_SAMPLES * 5 :]
    assert abs(_dbfs(heard) - (-32.0 + level_db)) < 1.0
    assert mic.clipped_samples == 0


def test_an_echo_relative_to_the_wearer_needs_the_wearer_level():
    with pytest.raises(ValueError, match="wearer's speech level"):
        Mic(None, Echo(level_db=6.0))


def test_bone_coloring_distorts_and_resonates():
    ear = _tone(200, -30.0, 50)
    linear = _capture(Mic(None, Echo(gain_db=0, lowpass_hz=1000), speaker_dbfs=-30.0), ear)[3200:]
    bone = _capture(Mic(None, Echo(gain_db=0, lowpass_hz=1000, coloring="bone"), speaker_dbfs=-30.0), ear)[3200:]

    def band(x: np.ndarray, hz: float) -> float:
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        i = round(hz * len(x) / SAMPLE_RATE)
        return float(spectrum[i - 2 : i + 3].max())

    # Soft clipping adds odd harmonics a linear path has none of.
    assert 20 * np.log10(band(bone, 600) / band(bone, 200)) > -40
    assert 20 * np.log10(band(linear, 600) / band(linear, 200)) < -60
    # The resonance lifts the corner frequency above the one-pole's roll-off there.
    res = _capture(Mic(None, Echo(gain_db=0, lowpass_hz=1000, coloring="bone"), speaker_dbfs=-60.0),
                   _tone(1000, -60.0, 50))[3200:]  # fmt: skip
    flat = _capture(Mic(None, Echo(gain_db=0, lowpass_hz=1000), speaker_dbfs=-60.0), _tone(1000, -60.0, 50))[3200:]
    assert _dbfs(res) - _dbfs(flat) > 6


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("gain_db = -6\nlevel_db = 6\n", "give one of 'gain_db'"),
        ("level_db = 30\n", r"'level_db' must be in \[-60, 20\]"),
        ('coloring = "metal"\n', "'coloring' must be one of linear, bone"),
        ("level_db = nan\n", "'level_db' must be a finite number"),
    ],
)
def test_bad_echo_settings_are_rejected_naming_the_key(body, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(f'[[utterance]]\nsay = "hi"\nat = 1\n[echo]\n{body}', "x.toml")


def test_a_scenario_echo_12_db_over_the_wearer_sets_the_path_gain_from_the_wearer_level():
    scenario = parse_scenario('[[utterance]]\nsay = "hi"\nat = 1\n[echo]\nlevel_db = 12\ncoloring = "bone"\n', "x.toml")
    assert scenario.echo == Echo(level_db=12.0, coloring="bone")
    speech = _tone(200, -30.0, 20)
    scenario.utterances[0].audio = np.concatenate(speech)
    sim = Simulator(scenario, say=lambda _line: None)
    # wearer -30 dBFS, echo at -18 dBFS, answer at the host's whisper level for a quiet room
    assert 20 * np.log10(sim.mic.echo_gain) == pytest.approx(-30.0 + 12.0 - sim.mic.speaker_dbfs, abs=0.3)
