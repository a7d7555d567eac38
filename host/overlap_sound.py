"""How speech over an answer *sounds*: the acoustic half of telling a backchannel from an
interruption (``host.overlap`` reads the words).

Whisper writes words for sounds that have none: a cough comes out as "Thank you.", a laugh as
"Yeah." or "No.", a noise burst as "Bye." The words alone would trust that. The sound says what
kind of event it was:

- A cough, a throat-clear, a breath or a noise burst is mostly *unvoiced*: little of it has the
  periodic pulse of the vocal folds, and its spectrum is flat (noise-like), where speech has the
  peaks of its harmonics and formants.
- Speech has long voiced stretches; a backchannel ("mm-hm", "yeah") is one short, usually quiet
  one. Loudness is only meaningful against the same wearer's own speaking level, which the session
  tracks from their turns (``WearerLevel``): microphones, mouths and rooms differ by 20 dB.

The audio is the uplink as the edge forwarded it: the device's Opus packets, decoded on the host,
*without* the edge's echo cancellation (the edge forwards the packets untouched). The answer's
own voice may therefore be under the wearer's; it is rendered as a whisper (unvoiced) and ducked
at the wearer's onset, so it adds to the unvoiced share, never to the voiced one, and frames are
only measured where the overlap is within ``active_range_db`` of its loudest.

``host.whisper`` has a voicing and a flatness of its own: they check that a rendered whisper has
no pitch left, over its LPC residual, and give one figure per clip. Telling a cough from a word
needs the pitch itself, frame by frame, and the flatness of the sound as heard, not of a residual.

A laugh is not told apart by sound here: the real laughs committed (acted, voiced "ha-ha-ha" with
a wide pitch swing) measure like speech on every figure below, and a rule of short voiced bursts
took real and synthetic "Stop." and "I see." for laughs. Whisper does better on them: it writes
nothing, or a run of "ha", which ``host.overlap`` reads as laughter.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np

from sottovoce.proto.codec import SAMPLE_RATE

_HOP = SAMPLE_RATE // 100  # 10 ms
_WINDOW = 4 * _HOP  # 40 ms: two periods of an 50 Hz voice
_FFT = 1024


@dataclass(frozen=True)
class SoundConfig:
    """The measuring and the rule, one place. Figures measured on the committed real clips
    (``firmware_sim/voices``) and synthetic voices through Opus: ``sottovoce bench overlap``."""

    f0_min_hz: float = 60.0
    f0_max_hz: float = 500.0  # laughs go well above speech
    voicing_threshold: float = 0.5  # normalised autocorrelation peak of a voiced 40 ms window
    lowpass_hz: float = 1000.0  # the pitch search sees only the low band, where harmonics are strong
    active_range_db: float = 35.0  # frames within this of the loudest are the event
    floor_margin_db: float = 6.0  # ... and this far above the ambient level
    # Rule. A sound is nonverbal when little of it is voiced, it has almost no voice at all, and its
    # spectrum is noise-like. Measured (through Opus): real coughs 20-35 % voiced with 0.13-0.15 s
    # of voice, flatness 0.05-0.17; a noise burst 6 %, flatness 0.55. The least voiced real words:
    # "No." 34 % but 0.29 s of voice, "Stop." 38 % and 0.27 s, "Yes." with a long hiss 36 % and
    # 0.16 s (a backchannel either way); flatness up to 0.08 for a word with a long "s". The
    # answer's whispered echo under a word adds unvoiced, flat frames: real "Stop."s under an echo
    # 30 dB below them and -50 dBFS noise measured 28-29 % voiced with 0.13-0.33 s of voice, so the
    # sound alone is never trusted with a command (``host.overlap`` does not let it overrule one).
    nonverbal_max_voicing: float = 0.4
    nonverbal_max_voiced_s: float = 0.25
    nonverbal_min_flatness: float = 0.04
    # Speech the wearer means to be heard: a raised voice, clearly louder than their own turns in
    # this session, or this much voice. Not less loud: a real "Yes." over an answer measured +3 dB
    # against the wearer's question (its short "ye-" is all there is of it), and doubted words in a
    # sound at the wearer's usual level are as likely a misheard "yes" as a misheard "stop"; those
    # stay unsure and the edge's length rule decides. Not less voice: the real laughs here have
    # 1.4-1.7 s of it, and over an answer Whisper writes the answer's leaking echo for them ("The
    # forecast says ..."), doubted content a shorter bound would make an interruption.
    long_voiced_s: float = 2.0
    loud_db: float = 6.0  # relative to the wearer's speaking level


@dataclass(frozen=True)
class OverlapSound:
    """Acoustic measures of one stretch of overlapping sound."""

    active_s: float  # time within ``active_range_db`` of the loudest frame (and above ambience)
    voiced_s: float  # time of it with a clear pitch
    voicing: float  # voiced_s / active_s
    f0_median_hz: float | None  # None when nothing is voiced
    f0_range_st: float  # 10th to 90th percentile of the pitch, in semitones
    level_dbfs: float  # median level of the active frames
    flatness: float  # median spectral flatness of the active frames (0 tonal .. 1 white noise)

    def relative_level_db(self, wearer_dbfs: float | None) -> float | None:
        return None if wearer_dbfs is None else self.level_dbfs - wearer_dbfs


class SoundKind(Enum):
    NONVERBAL = "nonverbal"  # cough, throat-clear, breath, noise burst
    SPEECH = "speech"  # long, or louder than the wearer's own speech: they mean to be heard
    VOICED = "voiced"  # short and quieter than that: a backchannel or a short command, the words say which
    SILENT = "silent"  # nothing above the ambience


@dataclass(frozen=True)
class SoundReading:
    kind: SoundKind
    reason: str  # for logs: "nonverbal: voiced 8 %, flatness 0.31"


def _frames(x: np.ndarray) -> np.ndarray:
    n = 1 + max(0, len(x) - _WINDOW) // _HOP
    idx = np.arange(_WINDOW)[None, :] + _HOP * np.arange(n)[:, None]
    return x[idx]


def _lowpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    spectrum[freqs > cutoff_hz] = 0
    return np.fft.irfft(spectrum, len(x))


def _pitch(frames: np.ndarray, config: SoundConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the normalised autocorrelation peak in the pitch range, and the pitch there."""
    lo = int(SAMPLE_RATE / config.f0_max_hz)
    hi = int(SAMPLE_RATE / config.f0_min_hz)
    centred = frames - frames.mean(axis=1, keepdims=True)
    r = np.fft.irfft(np.abs(np.fft.rfft(centred, _FFT, axis=1)) ** 2, _FFT, axis=1)[:, : hi + 2]
    energy = r[:, :1]
    # Unbiased: a lag of tau sums only WINDOW - tau products.
    norm = r / np.maximum(energy, 1e-12) * (_WINDOW / (_WINDOW - np.arange(hi + 2)))[None, :]
    # Only a local maximum is a period: the autocorrelation of band-limited noise falls smoothly
    # from lag 0, so its largest value in the range sits on the range's short end.
    mid = norm[:, lo : hi + 1]
    left, right = norm[:, lo - 1 : hi], norm[:, lo + 1 : hi + 2]
    search = np.where((mid > left) & (mid >= right), mid, 0.0)
    best = search.max(axis=1)
    # The first lag that comes close to the best avoids halving the pitch (octave errors).
    first = np.argmax(search >= 0.9 * best[:, None], axis=1) + lo
    return best, SAMPLE_RATE / first


def _flatness(frames: np.ndarray) -> np.ndarray:
    power = np.abs(np.fft.rfft(frames * np.hanning(_WINDOW)[None, :], _FFT, axis=1)) ** 2
    freqs = np.fft.rfftfreq(_FFT, 1 / SAMPLE_RATE)
    band = power[:, (freqs >= 100) & (freqs <= 7000)] + 1e-12
    return np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)


def measure(pcm: np.ndarray, ambient_dbfs: float | None = None, config: SoundConfig | None = None) -> OverlapSound:
    """Measure int16 16 kHz audio of an overlap."""
    cfg = config or SoundConfig()
    x = np.asarray(pcm, dtype=np.float64) / 32768.0
    if len(x) < _WINDOW:
        return OverlapSound(0.0, 0.0, 0.0, None, 0.0, -100.0, 0.0)
    frames = _frames(x)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
    floor = level.max() - cfg.active_range_db
    if ambient_dbfs is not None:
        floor = max(floor, ambient_dbfs + cfg.floor_margin_db)
    active = level > floor
    if not active.any():
        return OverlapSound(0.0, 0.0, 0.0, None, 0.0, float(level.max()), 0.0)
    peak, f0 = _pitch(_frames(_lowpass(x, cfg.lowpass_hz)), cfg)
    voiced = active & (peak >= cfg.voicing_threshold)
    f0s = f0[voiced]
    hop_s = _HOP / SAMPLE_RATE
    return OverlapSound(
        active_s=float(active.sum() * hop_s),
        voiced_s=float(voiced.sum() * hop_s),
        voicing=float(voiced.sum() / active.sum()),
        f0_median_hz=float(np.median(f0s)) if len(f0s) else None,
        f0_range_st=float(12 * np.log2(np.percentile(f0s, 90) / np.percentile(f0s, 10))) if len(f0s) > 2 else 0.0,
        level_dbfs=float(np.median(level[active])),
        flatness=float(np.median(_flatness(frames[active]))),
    )


def classify(sound: OverlapSound, wearer_dbfs: float | None, config: SoundConfig | None = None) -> SoundReading:
    """The rule: what kind of sound this is, on its own (the words are ``host.overlap``'s)."""
    cfg = config or SoundConfig()
    if sound.active_s == 0.0:
        return SoundReading(SoundKind.SILENT, "nothing above the ambience")
    shape = f"voiced {sound.voiced_s:.2f} s ({sound.voicing:.0%}), flatness {sound.flatness:.2f}"
    if (
        sound.voicing < cfg.nonverbal_max_voicing
        and sound.voiced_s < cfg.nonverbal_max_voiced_s
        and sound.flatness >= cfg.nonverbal_min_flatness
    ):
        return SoundReading(SoundKind.NONVERBAL, f"unvoiced, noise-like: {shape}")
    rel = sound.relative_level_db(wearer_dbfs)
    loudness = "wearer's level unknown" if rel is None else f"{rel:+.0f} dB against the wearer's speech"
    if sound.voiced_s >= cfg.long_voiced_s or (rel is not None and rel >= cfg.loud_db):
        return SoundReading(SoundKind.SPEECH, f"long or loud: {shape}, {loudness}")
    return SoundReading(SoundKind.VOICED, f"short or quiet: {shape}, {loudness}")


class WearerLevel:
    """The wearer's speaking level in this session: the median over their recent turns of each
    turn's median active-frame level. Turns, not frames, so one long turn does not outweigh the
    rest; a median, so one shouted or whispered turn does not move it."""

    def __init__(self, turns: int = 8, config: SoundConfig | None = None) -> None:
        self._levels: deque[float] = deque(maxlen=turns)
        self._config = config or SoundConfig()

    def add_turn(self, pcm: np.ndarray, ambient_dbfs: float | None = None) -> None:
        sound = measure(pcm, ambient_dbfs, self._config)
        if sound.voiced_s > 0.0:  # a turn with no voice says nothing about how loud the wearer speaks
            self._levels.append(sound.level_dbfs)

    @property
    def dbfs(self) -> float | None:
        return float(np.median(self._levels)) if self._levels else None
