"""Noise beds for the glasses' mic: a street, a babble of other people talking, wind.

A scenario's ``[noise] bed = "street" | "babble" | "wind"`` (with ``level_dbfs``, the bed's RMS
over its whole loop relative to int16 full scale) plays one of these under the wearer instead of
white or pink noise. Each is rendered once, ``LOOP_S`` long, and looped frame by frame; the same
seed renders the same bed.

- babble: real speech. The committed recordings in ``voices/`` of speakers other than the
  wearer's (``exclude_speakers``), ``BABBLE_TALKERS`` streams of them at once, each stream a
  shuffled run of clips with short gaps, so no single voice can be followed for long.
- street and wind are SYNTHESISED: no small recording under a licence that allows committing it
  was found. Street: a low-passed traffic rumble with the slow swells of cars passing (each a
  band-limited noise burst under a bell-shaped envelope a few seconds long). Wind: low-frequency
  buffeting, noise low-passed below a few hundred hertz whose level follows a slowly varying gust
  envelope, as wind on a microphone's grille sounds. Neither is a recording; both carry their
  energy where the real ones do (low frequencies, slow level changes), which is what a VAD and an
  end-of-turn model are tested against.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from scipy.signal import butter, sosfilt

from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.scenario import NOISE_BEDS, read_wav
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE

LOOP_S = 30.0  # longer than a suite scenario: the loop's seam is rarely reached
BABBLE_TALKERS = 4
FULL_SCALE = 32768.0


class NoiseBedError(ValueError):
    """A bed that cannot be rendered: an unknown name, or no voices left for a babble."""


def _rng(bed: str, seed: int) -> np.random.Generator:
    # each bed its own stream of the seed: a street and a wind of seed 0 are not the same noise
    return np.random.default_rng([seed, zlib.crc32(bed.encode())])


def _lowpass(x: np.ndarray, hz: float, order: int = 2) -> np.ndarray:
    return sosfilt(butter(order, hz, btype="low", fs=SAMPLE_RATE, output="sos"), x)


def _bandpass(x: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    return sosfilt(butter(2, (low_hz, high_hz), btype="band", fs=SAMPLE_RATE, output="sos"), x)


def _street(rng: np.random.Generator, n: int) -> np.ndarray:
    rumble = _lowpass(rng.standard_normal(n), 150.0) + 0.2 * _lowpass(rng.standard_normal(n), 2000.0)
    t = np.arange(n) / SAMPLE_RATE
    cars = np.zeros(n)
    at = rng.uniform(0.0, 4.0)
    while at < n / SAMPLE_RATE:
        width = rng.uniform(1.0, 2.5)  # seconds: how long a passing car is loud
        swell = rng.uniform(1.5, 4.0) * np.exp(-0.5 * ((t - at) / (width / 2)) ** 2)
        # engine and exhaust low, tyres on the road higher and weaker
        engine = _bandpass(rng.standard_normal(n), 40.0, rng.uniform(200.0, 350.0))
        tyres = _bandpass(rng.standard_normal(n), 400.0, rng.uniform(1000.0, 1500.0))
        cars += swell * (engine + 0.3 * tyres)
        at += rng.uniform(3.0, 8.0)
    return rumble + cars


def _wind(rng: np.random.Generator, n: int) -> np.ndarray:
    # a gust envelope: noise smoothed to below 0.5 Hz, made positive and peaky
    frame_rate = SAMPLE_RATE / FRAME_SAMPLES  # the envelope is drawn per frame, then interpolated
    steps = rng.standard_normal(n // FRAME_SAMPLES + 2)
    smooth = sosfilt(butter(2, 0.5, btype="low", fs=frame_rate, output="sos"), steps)
    smooth = smooth / (np.std(smooth) + 1e-12)
    gusts = np.exp(0.9 * smooth)
    envelope = np.interp(np.arange(n), np.arange(len(gusts)) * FRAME_SAMPLES, gusts)
    buffet = _lowpass(rng.standard_normal(n), 250.0, order=4)
    return envelope * buffet


def babble_voices(exclude_speakers: Iterable[str] = ()) -> list[str]:
    """The clip ids a babble is made of: every committed recording not by one of ``exclude_speakers``."""
    excluded = set(exclude_speakers)
    return sorted(clip.id for clip in recordings().values() if clip.speaker not in excluded)


def _babble(rng: np.random.Generator, n: int, exclude_speakers: Iterable[str]) -> np.ndarray:
    ids = babble_voices(exclude_speakers)
    if not ids:
        raise NoiseBedError("a babble needs recordings of speakers other than the wearer; there are none")
    clips = {i: read_wav(recordings()[i].path).astype(np.float64) for i in ids}
    for i, pcm in clips.items():  # each voice at the same level: no talker stands out
        clips[i] = pcm / (np.sqrt(np.mean(pcm**2)) + 1e-9)
    mix = np.zeros(n)
    for _ in range(BABBLE_TALKERS):
        pos = int(rng.integers(0, SAMPLE_RATE))
        while pos < n:
            pcm = clips[ids[int(rng.integers(len(ids)))]]
            take = min(len(pcm), n - pos)
            mix[pos : pos + take] += pcm[:take]
            pos += take + int(rng.uniform(0.1, 0.4) * SAMPLE_RATE)
    return mix


def render(bed: str, level_dbfs: float, seed: int = 0, exclude_speakers: Iterable[str] = (),
           seconds: float = LOOP_S) -> np.ndarray:  # fmt: skip
    """``seconds`` of the bed (float samples in int16 scale), its RMS ``level_dbfs``."""
    if bed not in NOISE_BEDS:
        raise NoiseBedError(f"no noise bed {bed!r} (there are: {', '.join(NOISE_BEDS)})")
    n = round(seconds * SAMPLE_RATE)
    rng = _rng(bed, seed)
    if bed == "street":
        raw = _street(rng, n)
    elif bed == "wind":
        raw = _wind(rng, n)
    else:
        raw = _babble(rng, n, exclude_speakers)
    rms = float(np.sqrt(np.mean(raw**2)))
    return raw * (FULL_SCALE * 10 ** (level_dbfs / 20) / max(rms, 1e-12))


class NoiseBed:
    """A rendered bed played on in a loop, one mic frame at a time."""

    def __init__(self, bed: str, level_dbfs: float, seed: int = 0, exclude_speakers: Iterable[str] = ()) -> None:
        self.samples = render(bed, level_dbfs, seed, exclude_speakers)
        self._pos = 0

    def frame(self, n: int = FRAME_SAMPLES) -> np.ndarray:
        """The next ``n`` samples of the loop."""
        idx = (self._pos + np.arange(n)) % len(self.samples)
        self._pos = (self._pos + n) % len(self.samples)
        return self.samples[idx]
