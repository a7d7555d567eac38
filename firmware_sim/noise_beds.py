"""Noise beds for the glasses' mic: a street, wind, and a babble of other people talking.

A scenario's ``[noise] bed = "street" | "babble" | "wind"`` (with ``level_dbfs``, the bed's RMS
over its whole loop relative to int16 full scale) plays one of these under the wearer in place of
white or pink noise. Each is made once and looped frame by frame; the same seed gives the same
bed, another seed starts the loop elsewhere (street, wind) or arranges the talkers otherwise
(babble).

- street and wind: real outdoor recordings, committed in ``beds/`` (source, licence and how they
  were cut in ``beds/README.md``, from the Berlin Noise collection): cars and a bike passing in a
  street in Potsdam; a windy pavement in Berlin, the wind buffeting the microphone (most of its
  energy below 150 Hz).
- babble: real speech. The committed recordings in ``voices/`` of speakers other than the
  wearer's (``exclude_speakers``), ``BABBLE_TALKERS`` streams of them at once, each stream a
  shuffled run of clips with short gaps, so no single voice can be followed for long.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import numpy as np

from sottovoce.firmware_sim.recordings import recordings
from sottovoce.firmware_sim.scenario import NOISE_BEDS, read_wav
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE

RECORDED = {"street": "street.wav", "wind": "wind.wav"}  # bed -> its recording in beds/
BABBLE_S = 30.0  # longer than a scenario of the duplex suite: the loop's seam is rarely reached
BABBLE_TALKERS = 4
FULL_SCALE = 32768.0


class NoiseBedError(ValueError):
    """A bed that cannot be made: an unknown name, or no voices left for a babble."""


def beds_dir() -> Path:
    return Path(str(resources.files("sottovoce.firmware_sim") / "beds"))


def _rng(bed: str, seed: int) -> np.random.Generator:
    # each bed its own stream of the seed
    return np.random.default_rng([seed, zlib.crc32(bed.encode())])


def babble_voices(exclude_speakers: Iterable[str] = ()) -> list[str]:
    """The clip ids a babble is made of: every committed recording not by one of ``exclude_speakers``."""
    excluded = set(exclude_speakers)
    return sorted(clip.id for clip in recordings().values() if clip.speaker not in excluded)


def _babble(rng: np.random.Generator, exclude_speakers: Iterable[str]) -> np.ndarray:
    ids = babble_voices(exclude_speakers)
    if not ids:
        raise NoiseBedError("a babble needs recordings of speakers other than the wearer; there are none")
    clips = {i: read_wav(recordings()[i].path).astype(np.float64) for i in ids}
    for i, pcm in clips.items():  # each voice at the same level: no talker stands out
        clips[i] = pcm / (np.sqrt(np.mean(pcm**2)) + 1e-9)
    n = round(BABBLE_S * SAMPLE_RATE)
    mix = np.zeros(n)
    for _ in range(BABBLE_TALKERS):
        pos = int(rng.integers(0, SAMPLE_RATE))
        while pos < n:
            pcm = clips[ids[int(rng.integers(len(ids)))]]
            take = min(len(pcm), n - pos)
            mix[pos : pos + take] += pcm[:take]
            pos += take + int(rng.uniform(0.1, 0.4) * SAMPLE_RATE)
    return mix


def render(bed: str, level_dbfs: float, seed: int = 0, exclude_speakers: Iterable[str] = ()) -> np.ndarray:
    """One loop of the bed (float samples in int16 scale), its RMS ``level_dbfs``."""
    if bed not in NOISE_BEDS:
        raise NoiseBedError(f"no noise bed {bed!r} (there are: {', '.join(NOISE_BEDS)})")
    rng = _rng(bed, seed)
    if bed in RECORDED:
        recorded = read_wav(beds_dir() / RECORDED[bed]).astype(np.float64)
        raw = np.roll(recorded, -int(rng.integers(len(recorded))))  # the recordings loop without a seam
    else:
        raw = _babble(rng, exclude_speakers)
    rms = float(np.sqrt(np.mean(raw**2)))
    return raw * (FULL_SCALE * 10 ** (level_dbfs / 20) / max(rms, 1e-12))


class NoiseBed:
    """A bed played on in a loop, one mic frame at a time."""

    def __init__(self, bed: str, level_dbfs: float, seed: int = 0, exclude_speakers: Iterable[str] = ()) -> None:
        self.samples = render(bed, level_dbfs, seed, exclude_speakers)
        self._pos = 0

    def frame(self, n: int = FRAME_SAMPLES) -> np.ndarray:
        """The next ``n`` samples of the loop."""
        idx = (self._pos + np.arange(n)) % len(self.samples)
        self._pos = (self._pos + n) % len(self.samples)
        return self.samples[idx]
