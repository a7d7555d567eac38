"""The glasses' microphone: the wearer's speech + background noise (or a noise bed) + the speaker's
echo + the outward speaker's sound (translation mode's replies said aloud: loud, near, undamped).

Everything is computed per 20 ms frame so the mic can hear what the ear speaker played a few
milliseconds earlier, as the acoustic path from speaker to mic does on real glasses.

An echo given relative to the wearer (``level_db``) is a fixed path gain computed from the
wearer's speech level and the level the answer plays at in the ear (the host's whisper level for
the scenario's noise, unless told): a real echo path does not change with what plays through it,
and an echo canceller must not be handed one that does.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter, lfilter_zi

from sottovoce.firmware_sim.noise_beds import NoiseBed
from sottovoce.firmware_sim.scenario import Echo, Noise, Outward
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE

FULL_SCALE = 32768.0
# A common 3-pole/3-zero approximation of a 1/f (pink) spectrum applied to white noise.
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
_ECHO_HISTORY = SAMPLE_RATE + FRAME_SAMPLES  # echo delays are validated to be <= 1 s
_BONE_Q = 2.5  # the frame's resonance at the low-pass corner
_BONE_CLIP = 2.0  # soft clipping sets in this many times above the ear's speech RMS (+6 dB)


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


class Mic:
    def __init__(
        self,
        noise: Noise | None,
        echo: Echo,
        seed: int = 0,
        wearer_dbfs: float | None = None,
        speaker_dbfs: float | None = None,
        outward: Outward | None = None,
    ) -> None:
        """``wearer_dbfs``: the wearer's active-speech level, needed when the echo is given
        relative to it (``echo.level_db``); ``speaker_dbfs``: the answer's active-speech level in
        the ear (default: the host's whisper level for this noise)."""
        if echo.level_db is not None and wearer_dbfs is None:
            raise ValueError("an echo level relative to the wearer needs the wearer's speech level")
        if speaker_dbfs is None:
            from sottovoce.host.whisper import LevelPolicy

            speaker_dbfs = LevelPolicy().target_dbfs(noise.level_dbfs if noise is not None else None)
        self.speaker_dbfs = speaker_dbfs
        self.noise = noise
        self.echo = echo
        self.clipped_samples = 0
        self._rng = np.random.default_rng(seed)
        self._noise_gain = 0.0
        self._pink_zi = np.zeros(len(_PINK_A) - 1)
        self._bed = None
        if noise is not None and noise.bed is not None:
            self._bed = NoiseBed(noise.bed, noise.level_dbfs, seed, noise.babble_without)
        elif noise is not None:
            target = FULL_SCALE * db_to_gain(noise.level_dbfs)
            if noise.color == "pink":
                # Calibrate the filter's output level once so level_dbfs is the actual RMS.
                probe = lfilter(_PINK_B, _PINK_A, np.random.default_rng(seed + 1).standard_normal(SAMPLE_RATE * 10))
                target /= float(np.sqrt(np.mean(probe[SAMPLE_RATE:] ** 2)))
            self._noise_gain = target
        if echo.level_db is not None:
            assert wearer_dbfs is not None
            self._echo_gain = db_to_gain(wearer_dbfs + echo.level_db - speaker_dbfs)
        else:
            self._echo_gain = db_to_gain(echo.gain_db) if echo.gain_db > -120 else 0.0
        self._echo_delay = round(echo.delay_ms * SAMPLE_RATE / 1000)
        if echo.coloring == "bone":
            self._lp_b, self._lp_a = _resonant_lowpass(echo.lowpass_hz, _BONE_Q)
        else:
            # One-pole low-pass: the glasses' frame passes the speaker's low end more than its highs.
            alpha = 1.0 - float(np.exp(-2.0 * np.pi * echo.lowpass_hz / SAMPLE_RATE))
            self._lp_b = np.array([alpha])
            self._lp_a = np.array([1.0, alpha - 1.0])
        self._lp_zi = lfilter_zi(self._lp_b, self._lp_a) * 0.0
        self._ear = np.zeros(_ECHO_HISTORY, dtype=np.float32)
        outward = outward or Outward()
        self._outward = np.zeros(_ECHO_HISTORY, dtype=np.float32)
        self._outward_gain = db_to_gain(outward.gain_db) if outward.gain_db > -120 else 0.0
        self._outward_delay = round(outward.delay_ms * SAMPLE_RATE / 1000)
        # Bone colouring clips relative to the answer's level, so it colours a whisper as much as a voice.
        self._knee = _BONE_CLIP * FULL_SCALE * db_to_gain(speaker_dbfs)

    @property
    def echo_gain(self) -> float:
        """The speaker-to-mic gain of the echo path."""
        return self._echo_gain

    def hear_speaker(self, ear: np.ndarray) -> None:
        """Feed the frame the speaker just played (before ``capture`` of the same tick)."""
        self._ear = np.concatenate([self._ear[FRAME_SAMPLES:], ear.astype(np.float32)])

    def hear_outward(self, played: np.ndarray) -> None:
        """Feed the frame the outward speaker just played (before ``capture`` of the same tick)."""
        self._outward = np.concatenate([self._outward[FRAME_SAMPLES:], played.astype(np.float32)])

    def capture(self, speech: np.ndarray) -> np.ndarray:
        """One mic frame (int16) from the wearer's ``speech`` (float samples in int16 scale)."""
        frame = speech.astype(np.float64, copy=True)
        if self._noise_gain:
            white = self._rng.standard_normal(FRAME_SAMPLES)
            if self.noise is not None and self.noise.color == "pink":
                white, self._pink_zi = lfilter(_PINK_B, _PINK_A, white, zi=self._pink_zi)
            frame += white * self._noise_gain
        if self._bed is not None:
            frame += self._bed.frame()
        if self._echo_gain:
            end = len(self._ear) - self._echo_delay
            drive = self._ear[end - FRAME_SAMPLES : end].astype(np.float64)
            if self.echo.coloring == "bone":
                drive = self._knee * np.tanh(drive / self._knee)
            leak, self._lp_zi = lfilter(self._lp_b, self._lp_a, drive, zi=self._lp_zi)
            frame += leak * self._echo_gain
        if self._outward_gain:
            end = len(self._outward) - self._outward_delay
            frame += self._outward[end - FRAME_SAMPLES : end].astype(np.float64) * self._outward_gain
        out = np.round(frame)
        clipped = np.count_nonzero((out > 32767) | (out < -32768))
        if clipped:
            self.clipped_samples += int(clipped)
        return np.clip(out, -32768, 32767).astype(np.int16)


def _resonant_lowpass(corner_hz: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """A second-order low-pass with a resonant peak at ``corner_hz`` (the audio EQ cookbook's)."""
    w0 = 2.0 * np.pi * min(corner_hz, 0.45 * SAMPLE_RATE) / SAMPLE_RATE
    alpha = np.sin(w0) / (2.0 * q)
    cos = np.cos(w0)
    b = np.array([(1 - cos) / 2, 1 - cos, (1 - cos) / 2])
    a = np.array([1 + alpha, -2 * cos, 1 - alpha])
    return b / a[0], a / a[0]
