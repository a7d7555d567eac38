"""Noise beds under the wearer: their level, determinism, character, and the scenario's [noise] bed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.noise_beds import LOOP_S, NoiseBed, NoiseBedError, babble_voices, render
from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.scenario import NOISE_BEDS, Echo, Noise, ScenarioError, parse_scenario
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE

FULL_SCALE = 32768.0


def _dbfs(x: np.ndarray) -> float:
    return 20 * float(np.log10(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)) / FULL_SCALE))


def _share_below(x: np.ndarray, hz: float) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return float(power[freqs < hz].sum() / power.sum())


@pytest.mark.parametrize("bed", NOISE_BEDS)
@pytest.mark.parametrize("level", [-50.0, -35.0])
def test_each_bed_plays_at_its_level(bed, level):
    assert _dbfs(render(bed, level, seed=3)) == pytest.approx(level, abs=0.05)


@pytest.mark.parametrize("bed", NOISE_BEDS)
def test_a_seed_renders_the_same_bed_and_another_seed_another(bed):
    a, b, c = render(bed, -40, seed=1), render(bed, -40, seed=1), render(bed, -40, seed=2)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_beds_differ_from_each_other_for_one_seed():
    street, wind = render("street", -40, seed=0), render("wind", -40, seed=0)
    assert abs(np.corrcoef(street, wind)[0, 1]) < 0.1


def test_street_and_wind_are_low_frequency_babble_is_in_the_speech_band():
    assert _share_below(render("street", -40), 500) > 0.7
    assert _share_below(render("wind", -40), 500) > 0.9
    babble = render("babble", -40)
    assert 1 - _share_below(babble, 300) > 0.5  # speech: most energy above 300 Hz


def test_wind_comes_in_gusts_and_street_in_swells():
    """Their level changes over seconds: frame levels spread far more than steady noise's."""
    for bed, spread_db in (("wind", 4.0), ("street", 2.0)):
        x = render(bed, -40, seed=5)
        frames = x[: len(x) // SAMPLE_RATE * SAMPLE_RATE].reshape(-1, SAMPLE_RATE)  # one-second levels
        levels = [_dbfs(f) for f in frames]
        assert np.std(levels) > spread_db, bed


def test_babble_is_made_of_voices_other_than_the_wearers():
    wearer = recordings()["rh_what_time_is_it"].speaker
    voices = babble_voices([wearer])
    assert voices and all(recordings()[v].speaker != wearer for v in voices)
    assert len(voices) == len([c for c in recordings().values() if c.speaker != wearer])
    with pytest.raises(NoiseBedError, match="other than the wearer"):
        render("babble", -40, exclude_speakers={c.speaker for c in recordings().values()})


def test_an_unknown_bed_is_an_error_naming_the_beds():
    with pytest.raises(NoiseBedError, match="street, babble, wind"):
        render("rain", -40)


def test_the_bed_loops_frame_by_frame():
    bed = NoiseBed("street", -40, seed=4)
    n = round(LOOP_S * SAMPLE_RATE)
    frames = np.concatenate([bed.frame() for _ in range(n // FRAME_SAMPLES + 3)])
    assert np.array_equal(frames[:n], render("street", -40, seed=4))
    assert np.array_equal(frames[n:], frames[: len(frames) - n])  # and starts over


def test_the_mic_plays_the_scenarios_bed_under_the_wearer():
    mic = Mic(Noise(level_dbfs=-40.0, bed="wind"), Echo(), seed=7)
    heard = np.concatenate([mic.capture(np.zeros(FRAME_SAMPLES)) for _ in range(round(LOOP_S * 50))])
    assert _dbfs(heard) == pytest.approx(-40.0, abs=0.1)
    assert np.allclose(heard, np.round(render("wind", -40.0, seed=7)), atol=1)
    speech = np.full(FRAME_SAMPLES, 1000.0)
    assert np.allclose(mic.capture(speech) - speech, NoiseBed("wind", -40.0, seed=7).frame(), atol=1)


SCENARIO = """
[[utterance]]
{wearer}
at = 1.0

[noise]
{noise}
"""


def test_a_scenario_chooses_a_bed_and_its_babble_leaves_out_the_wearer():
    text = SCENARIO.format(wearer='clip = "rh_what_time_is_it"', noise='bed = "babble"\nlevel_dbfs = -45.0')
    noise = parse_scenario(text).noise
    assert noise == Noise(level_dbfs=-45.0, bed="babble", babble_without=("rhasspy-test:en",))
    synthetic = parse_scenario(SCENARIO.format(wearer='say = "Hello."', noise='bed = "street"')).noise
    assert synthetic.bed == "street" and synthetic.babble_without == ()


@pytest.mark.parametrize(
    ("noise", "message"),
    [
        ('bed = "rain"', "'bed' must be one of street, babble, wind"),
        ("bed = 3", "'bed' must be a string"),
        ('bed = "wind"\ncolor = "pink"', "give one of 'color'"),
        ('bed = "wind"\nlevel_dbfs = 5.0', "level_dbfs"),
    ],
)
def test_bad_beds_are_errors_naming_the_table_and_key(noise, message):
    with pytest.raises(ScenarioError, match="noise") as err:
        parse_scenario(SCENARIO.format(wearer='say = "Hello."', noise=noise))
    assert message in str(err.value)


_values = st.one_of(st.text(max_size=8), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["bed", "color", "level_dbfs", "other"]), _values, max_size=4))
def test_any_noise_table_parses_or_is_a_scenario_error(table):
    lines = [f"{k} = {_toml(v)}" for k, v in table.items() if v is not None]
    try:
        noise = parse_scenario(SCENARIO.format(wearer='say = "Hello."', noise="\n".join(lines))).noise
    except ScenarioError:
        return
    assert noise is not None and (noise.bed is None or noise.bed in NOISE_BEDS)


def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(v, float) and not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return repr(v)
