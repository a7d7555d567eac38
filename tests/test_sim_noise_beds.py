"""Noise beds under the wearer: their level, determinism, character, and the scenario's [noise] bed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sottovoce.firmware_sim.mic import Mic
from sottovoce.firmware_sim.noise_beds import RECORDED, NoiseBed, NoiseBedError, babble_voices, beds_dir, render
from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.scenario import NOISE_BEDS, Echo, Noise, ScenarioError, parse_scenario, read_wav
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


@pytest.mark.parametrize("bed", sorted(RECORDED))
def test_street_and_wind_are_their_recordings_looped_from_a_seeded_point(bed):
    recorded = read_wav(beds_dir() / RECORDED[bed]).astype(np.float64)
    played = render(bed, -40, seed=9)
    assert len(played) == len(recorded)
    # the same recording, only scaled and started elsewhere: one circular shift lines them up exactly
    shift = int(np.argmax(np.fft.irfft(np.fft.rfft(played) * np.conj(np.fft.rfft(recorded)), n=len(recorded))))
    assert shift != 0
    assert np.corrcoef(np.roll(recorded, shift), played)[0, 1] == pytest.approx(1.0)


def test_wind_is_low_frequency_and_babble_in_the_speech_band():
    assert _share_below(render("wind", -40), 150) > 0.8  # buffeting
    assert 1 - _share_below(render("babble", -40), 300) > 0.5  # speech: most energy above 300 Hz


def test_the_street_swells_as_cars_pass():
    """Its level changes over seconds, far more than steady noise's."""
    x = render("street", -40, seed=5)
    levels = [_dbfs(f) for f in x[: len(x) // SAMPLE_RATE * SAMPLE_RATE].reshape(-1, SAMPLE_RATE)]
    assert max(levels) - min(levels) > 6.0


def test_babble_is_made_of_voices_other_than_the_wearers():
    wearer = recordings()["ls_testing_routine"].speaker
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
    n = len(bed.samples)
    frames = np.concatenate([bed.frame() for _ in range(n // FRAME_SAMPLES + 3)])
    assert np.array_equal(frames[:n], render("street", -40, seed=4))
    assert np.array_equal(frames[n:], frames[: len(frames) - n])  # and starts over


def test_the_mic_plays_the_scenarios_bed_under_the_wearer():
    mic = Mic(Noise(level_dbfs=-40.0, bed="wind"), Echo(), seed=7)
    loop = len(render("wind", -40.0, seed=7)) // FRAME_SAMPLES
    heard = np.concatenate([mic.capture(np.zeros(FRAME_SAMPLES)) for _ in range(loop)])
    assert _dbfs(heard) == pytest.approx(-40.0, abs=0.1)
    assert np.allclose(heard, np.round(render("wind", -40.0, seed=7)[: len(heard)]), atol=1)
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
    text = SCENARIO.format(wearer='clip = "ls_testing_routine"', noise='bed = "babble"\nlevel_dbfs = -45.0')
    noise = parse_scenario(text).noise
    assert noise == Noise(level_dbfs=-45.0, bed="babble", babble_without=("librispeech:251",))
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
