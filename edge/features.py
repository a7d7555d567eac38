"""Acoustic features for the end-of-turn model, one vector per 20 ms frame.

Each frame looks at a 32 ms Hann window (the new 320 samples plus 192 from the previous frame),
so the features can be computed incrementally on the edge: ``FeatureExtractor.push`` per frame,
``batch_features`` for a whole recording (training, benchmarks). Both run the same arithmetic,
so a streamed recording yields exactly the batch features.

Per frame (``N_FEATURES`` = 46):
- 40 log-mel band energies (60 Hz - 7.6 kHz): what was said and how it ends.
- log energy: loudness envelope, so trailing-off is visible.
- periodicity: the normalised autocorrelation peak in the 60-400 Hz pitch range (voicing).
- log pitch relative to 150 Hz (0 when unvoiced): final-fall vs continuation-rise intonation is
  the strongest acoustic end-of-turn cue.
- log pitch relative to this speaker's running mean (0 when unvoiced): the same fall or rise
  whether the voice is deep or high. The mean is a plain average over the first voiced frames
  (then an exponential one), so it is the speaker's level from the first phrase on, not a
  blend with a fixed starting guess that would read a low voice as a falling one.
- the relative pitch at the phrase's end (the median of the last three voiced frames, so one
  octave error does not flip it) and the recent pitch slope, both *held* through unvoiced
  frames and silence: the intonation of the phrase's end, still visible when the end-of-turn
  question is asked.
The prosody trackers (running mean, held pitch, slope) are the extractor's only state besides
the audio window; one recurrence serves the streaming and the batch path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE

N_MELS = 40
WINDOW = 512  # 32 ms analysis window
HISTORY = WINDOW - FRAME_SAMPLES  # samples carried over from the previous frame
N_FFT = 1024  # zero-padded so the FFT autocorrelation does not wrap around
N_FEATURES = N_MELS + 6
F_MIN, F_MAX = 60.0, 7600.0
PITCH_MIN_HZ, PITCH_MAX_HZ = 60.0, 400.0
OCTAVE_COST = 0.05  # per octave of lag, see _constants
VOICING_FLOOR = 0.3  # below this periodicity the pitch estimate is noise, reported as 0
PITCH_MEAN_RATE = 0.03  # per voiced frame: the speaker's mean pitch follows ~30 voiced frames
SLOPE_RATE = 0.3  # per voiced frame: the slope averages the last few voiced frames
# The trackers only follow clearly voiced frames near the speaker's level, so a decaying tail,
# mains hum or periodic noise in a pause cannot overwrite the intonation of the phrase's end.
TRACK_PERIODICITY = 0.6
TRACK_BELOW_PEAK = 3.0  # natural-log energy below the running peak (about 13 dB)
PEAK_DECAY = 0.01  # per frame (about 2 dB per second)
_EPS = 1e-10


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@cache
def _constants() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Window, mel filterbank (bins x mels), autocorrelation taper, octave cost, lag range."""
    window = np.hanning(WINDOW).astype(np.float32)
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(F_MIN), _hz_to_mel(F_MAX), N_MELS + 2))
    fbank = np.zeros((bins.size, N_MELS), dtype=np.float32)
    for m in range(N_MELS):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - lo) / (mid - lo)
        falling = (hi - bins) / (hi - mid)
        fbank[:, m] = np.clip(np.minimum(rising, falling), 0.0, None)
    lag_lo = int(SAMPLE_RATE / PITCH_MAX_HZ)
    lag_hi = int(SAMPLE_RATE / PITCH_MIN_HZ)
    # The window's own autocorrelation tapers long lags; dividing it out (Boersma 1993) keeps a
    # perfectly periodic frame near 1 at every pitch.
    w_acf = np.fft.irfft(np.abs(np.fft.rfft(window, n=N_FFT)) ** 2, n=N_FFT)
    taper = (w_acf[lag_lo : lag_hi + 1] / w_acf[0]).astype(np.float32)
    # A small cost per octave of lag breaks the tie between a pitch period and its multiples.
    octave_cost = (OCTAVE_COST * np.log2(np.arange(lag_lo, lag_hi + 1) / lag_lo)).astype(np.float32)
    return window, fbank, taper, octave_cost, lag_lo, lag_hi


def _features_of_windows(windows: np.ndarray) -> np.ndarray:
    """(n, WINDOW) float32 samples in [-1, 1] -> (n, N_FEATURES) float32."""
    window, fbank, taper, octave_cost, lag_lo, lag_hi = _constants()
    spec = np.fft.rfft(windows * window, n=N_FFT, axis=-1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    log_mel = np.log(power @ fbank + _EPS)
    energy = power.sum(axis=-1)
    log_energy = np.log(energy + _EPS)
    acf = np.fft.irfft(power, n=N_FFT, axis=-1)[:, : lag_hi + 1]
    r = acf[:, lag_lo : lag_hi + 1] / (acf[:, :1] + _EPS) / taper
    best = np.argmax(r - octave_cost, axis=-1)
    periodicity = np.clip(r[np.arange(len(r)), best], 0.0, 1.0)
    pitch_hz = SAMPLE_RATE / (best + lag_lo)
    log_pitch = np.where(periodicity >= VOICING_FLOOR, np.log2(pitch_hz / 150.0), 0.0)
    out = np.empty((len(windows), N_FEATURES), dtype=np.float32)
    out[:, :N_MELS] = log_mel
    out[:, N_MELS] = log_energy
    out[:, N_MELS + 1] = periodicity
    out[:, N_MELS + 2] = log_pitch
    out[:, N_MELS + 3 :] = 0.0  # prosody trackers: filled in order by _track_prosody
    return out


HELD_FRAMES = 3  # voiced frames whose median relative pitch is held through silence


@dataclass
class _Prosody:
    peak: float = -30.0  # running peak log energy (decays slowly)
    mean: float = 0.0  # running mean log pitch of voiced frames
    voiced: int = 0  # voiced frames tracked so far (the mean's warm-up)
    recent: tuple[float, ...] = ()  # relative pitch of the last HELD_FRAMES tracked frames
    slope: float = 0.0  # smoothed change of relative pitch between voiced frames


def _median(values: tuple[float, ...]) -> float:
    """Median of at most three values (np.median costs more than the rest of the tracker)."""
    if len(values) < 3:
        return sum(values) / len(values) if values else 0.0
    a, b, c = values
    return max(min(a, b), min(max(a, b), c))


def _track_prosody(feats: np.ndarray, st: _Prosody) -> None:
    """Fill the relative/held pitch and slope columns frame by frame, updating ``st``."""
    periodic = feats[:, N_MELS + 1] >= TRACK_PERIODICITY
    for i in range(len(feats)):
        energy = float(feats[i, N_MELS])
        st.peak = max(energy, st.peak - PEAK_DECAY)
        if periodic[i] and energy >= st.peak - TRACK_BELOW_PEAK:
            pitch = float(feats[i, N_MELS + 2])
            if not st.voiced:
                st.mean = pitch
            st.voiced += 1
            rel = pitch - st.mean
            if st.recent:
                st.slope += SLOPE_RATE * ((rel - st.recent[-1]) - st.slope)
            st.recent = (*st.recent[1 - HELD_FRAMES :], rel)
            st.mean += max(PITCH_MEAN_RATE, 1.0 / st.voiced) * rel
            feats[i, N_MELS + 3] = rel
        feats[i, N_MELS + 4] = _median(st.recent)
        feats[i, N_MELS + 5] = st.slope


def _as_float(pcm: np.ndarray) -> np.ndarray:
    if pcm.dtype != np.int16:
        raise TypeError(f"features need int16 samples, got {pcm.dtype}")
    return pcm.astype(np.float32) / 32768.0


class FeatureExtractor:
    """Streaming features: feed 20 ms int16 frames in order, one feature vector out per frame."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._buffer = np.zeros(WINDOW, dtype=np.float32)
        self._prosody = _Prosody()

    def push(self, pcm: np.ndarray) -> np.ndarray:
        if pcm.shape != (FRAME_SAMPLES,):
            raise ValueError(f"need {FRAME_SAMPLES} samples per frame, got {pcm.shape}")
        # Slide the window by one frame; the oldest HISTORY samples stay as context.
        self._buffer[:HISTORY] = self._buffer[FRAME_SAMPLES:]
        self._buffer[HISTORY:] = _as_float(pcm)
        feats = _features_of_windows(self._buffer[None, :])
        _track_prosody(feats, self._prosody)
        return feats[0]


def batch_features(pcm: np.ndarray) -> np.ndarray:
    """Features of a whole int16 recording: (frames, N_FEATURES); a partial last frame is padded
    with zeros, as ``frames_of`` does for the streaming path."""
    x = _as_float(pcm)
    n = -(-len(x) // FRAME_SAMPLES)
    padded = np.zeros(HISTORY + n * FRAME_SAMPLES, dtype=np.float32)
    padded[HISTORY : HISTORY + len(x)] = x
    starts = np.arange(n) * FRAME_SAMPLES
    windows = padded[starts[:, None] + np.arange(WINDOW)[None, :]]
    feats = _features_of_windows(windows)
    _track_prosody(feats, _Prosody())
    return feats
