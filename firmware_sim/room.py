"""Another person's voice as the glasses' microphone hears it: from a distance, in a room.

The wearer's mouth is a few centimetres from the microphone; a person in front of them is a
metre or more away. Two things follow, and both are modelled here:

- Level. The direct sound falls with distance (inverse-distance law, -6 dB per doubling) from
  the level the wearer's own voice has at the microphone, so a person at 1.5 m is about
  20 log10(1.5 / 0.1) = 23.5 dB below the wearer (``WEARER_MOUTH_M``, the effective distance of
  a close-talking mouth on a glasses frame).
- Room. At that distance the room's reverberation is as loud as the direct sound: the
  direct-to-reverberant ratio falls with distance as 20 log10(critical distance / distance), and
  the critical distance of a furnished room is about a metre. The impulse response is synthetic
  and seeded: the direct path, a few early reflections (walls, table, floor within 3-25 ms), then
  exponentially decaying, low-passed noise whose decay gives the room's RT60.

The wearer's own voice is left close and dry: at a few centimetres the direct sound dwarfs the room.

A recording's level says how its microphone was set, not how loud its speaker spoke: a keyword
read into a laptop sits anywhere from -38 to -8 dBFS. ``spoken_at`` puts a recording at the level
a voice of a given effort has at the glasses' microphone before the distance is applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve, lfilter

from sottovoce.proto.codec import SAMPLE_RATE

WEARER_MOUTH_M = 0.1  # effective distance from the wearer's mouth to the frame's microphone
DEFAULT_DISTANCE_M = 1.5  # a conversation across a small table, or standing face to face
DEFAULT_RT60_S = 0.45  # a furnished room or a shop: 0.3-0.6 s
CRITICAL_DISTANCE_M = 1.0  # where direct and reverberant sound are equally loud
EARLY_REFLECTIONS = 6
EARLY_SPAN_S = (0.003, 0.025)
TAIL_START_S = 0.005
TAIL_LOWPASS_HZ = 4000.0  # walls and air absorb the highs first
MAX_DISTANCE_M = 20.0
# Close-talk speech at a glasses microphone, active-speech level: the simulator's voices read -17
# to -21 dBFS there, and real sentences recorded at close-talking microphones -17 to -23.
CLOSE_TALK_DBFS = -19.0


@dataclass(frozen=True)
class Room:
    """A seeded synthetic room; ``response(distance_m)`` is its impulse response at that distance."""

    rt60_s: float = DEFAULT_RT60_S
    critical_distance_m: float = CRITICAL_DISTANCE_M
    seed: int = 0

    def response(self, distance_m: float) -> np.ndarray:
        """The impulse response (float, direct path at index 0 with gain 1) at ``distance_m``."""
        if not 0 < distance_m <= MAX_DISTANCE_M:
            raise ValueError(f"distance must be in (0, {MAX_DISTANCE_M:g}] m, got {distance_m!r}")
        if not 0.05 <= self.rt60_s <= 3.0:
            raise ValueError(f"RT60 must be in [0.05, 3] s, got {self.rt60_s!r}")
        rng = np.random.default_rng(self.seed)
        n = int(self.rt60_s * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        envelope = np.exp(-6.91 * t / self.rt60_s)  # -60 dB at t = RT60
        tail = rng.standard_normal(n) * envelope
        alpha = 1.0 - math.exp(-2.0 * math.pi * TAIL_LOWPASS_HZ / SAMPLE_RATE)
        tail = lfilter([alpha], [1.0, alpha - 1.0], tail)
        tail[: int(TAIL_START_S * SAMPLE_RATE)] = 0.0
        for _ in range(EARLY_REFLECTIONS):
            at = int(rng.uniform(*EARLY_SPAN_S) * SAMPLE_RATE)
            tail[at] += rng.choice((-1.0, 1.0)) * rng.uniform(0.3, 0.7) * envelope[at] * 3.0
        # The reverberant energy, relative to the direct path's 1, sets the direct-to-reverberant ratio.
        drr_db = 20.0 * math.log10(self.critical_distance_m / distance_m)
        tail *= math.sqrt(10.0 ** (-drr_db / 10.0) / float(np.sum(tail**2)))
        tail[0] = 1.0
        return tail


def distance_gain_db(distance_m: float) -> float:
    """The direct sound's level at ``distance_m`` relative to the wearer's own voice at the mic."""
    return -20.0 * math.log10(distance_m / WEARER_MOUTH_M)


def at_distance(audio: np.ndarray, distance_m: float, room: Room | None = None) -> np.ndarray:
    """``audio`` (int16, spoken at the wearer's close-talk level) as heard from ``distance_m`` in
    ``room``: attenuated by distance and convolved with the room's response (its reverberant tail
    kept, so the result is longer than the input). int16."""
    room = room or Room()
    wet = fftconvolve(audio.astype(np.float64), room.response(distance_m))
    wet *= 10.0 ** (distance_gain_db(distance_m) / 20.0)
    return np.clip(np.round(wet), -32768, 32767).astype(np.int16)


def spoken_at(audio: np.ndarray, effort_db: float = 0.0) -> np.ndarray:
    """``audio`` (int16) scaled so its active speech is at ``CLOSE_TALK_DBFS + effort_db``: a
    voice of that effort (negative: softer, positive: raised) at the wearer's mouth distance. int16."""
    from sottovoce.host.whisper import active_rms_dbfs

    gain_db = CLOSE_TALK_DBFS + effort_db - active_rms_dbfs(audio)
    scaled = audio.astype(np.float64) * 10.0 ** (gain_db / 20.0)
    return np.clip(np.round(scaled), -32768, 32767).astype(np.int16)
