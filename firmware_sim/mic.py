"""The glasses' microphone: the wearer's speech + background noise + the speaker's echo.

Everything is computed per 20 ms frame so the mic can hear what the ear speaker played a few
milliseconds earlier, as the acoustic path from speaker to mic does on real glasses.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter, lfilter_zi

from sottovoce.firmware_sim.scenario import Echo, Noise
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE

FULL_SCALE = 32768.0
# A common 3-pole/3-zero approximation of a 1/f (pink) spectrum applied to white noise.
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
_ECHO_HISTORY = SAMPLE_RATE + FRAME_SAMPLES  # echo delays are validated to be <= 1 s


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


class Mic:
    def __init__(self, noise: Noise | None, echo: Echo, seed: int = 0) -> None:
        self.noise = noise
        self.echo = echo
        self.clipped_samples = 0
        self._rng = np.random.default_rng(seed)
        self._noise_gain = 0.0
        self._pink_zi = np.zeros(len(_PINK_A) - 1)
        if noise is not None:
            target = FULL_SCALE * db_to_gain(noise.level_dbfs)
            if noise.color == "pink":
                # Calibrate the filter's output level once so level_dbfs is the actual RMS.
                probe = lfilter(_PINK_B, _PINK_A, np.random.default_rng(seed + 1).standard_normal(SAMPLE_RATE * 10))
                target /= float(np.sqrt(np.mean(probe[SAMPLE_RATE:] ** 2)))
            self._noise_gain = target
        self._echo_gain = db_to_gain(echo.gain_db) if echo.gain_db > -120 else 0.0
        self._echo_delay = round(echo.delay_ms * SAMPLE_RATE / 1000)
        # One-pole low-pass: the glasses' frame passes the speaker's low end more than its highs.
        alpha = 1.0 - float(np.exp(-2.0 * np.pi * echo.lowpass_hz / SAMPLE_RATE))
        self._lp_b = np.array([alpha])
        self._lp_a = np.array([1.0, alpha - 1.0])
        self._lp_zi = lfilter_zi(self._lp_b, self._lp_a) * 0.0
        self._ear = np.zeros(_ECHO_HISTORY, dtype=np.float32)

    def hear_speaker(self, ear: np.ndarray) -> None:
        """Feed the frame the speaker just played (before ``capture`` of the same tick)."""
        self._ear = np.concatenate([self._ear[FRAME_SAMPLES:], ear.astype(np.float32)])

    def capture(self, speech: np.ndarray) -> np.ndarray:
        """One mic frame (int16) from the wearer's ``speech`` (float samples in int16 scale)."""
        frame = speech.astype(np.float64, copy=True)
        if self._noise_gain:
            white = self._rng.standard_normal(FRAME_SAMPLES)
            if self.noise is not None and self.noise.color == "pink":
                white, self._pink_zi = lfilter(_PINK_B, _PINK_A, white, zi=self._pink_zi)
            frame += white * self._noise_gain
        if self._echo_gain:
            end = len(self._ear) - self._echo_delay
            leak, self._lp_zi = lfilter(self._lp_b, self._lp_a, self._ear[end - FRAME_SAMPLES : end], zi=self._lp_zi)
            frame += leak * self._echo_gain
        out = np.round(frame)
        clipped = np.count_nonzero((out > 32767) | (out < -32768))
        if clipped:
            self.clipped_samples += int(clipped)
        return np.clip(out, -32768, 32767).astype(np.int16)
