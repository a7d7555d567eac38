"""Echo cancellation: the answer the ear speaker plays, taken back out of the mic before the VAD.

The reference is what the edge itself sends down: each stream's Opus frames decoded in order by a
decoder of its own, as the device decodes them, so it is the speaker's input to the sample. The
device's playback reports place it on the uplink timeline: a stream starts playing at its
"started" report and then advances one frame per uplink frame, since the device plays and
captures on one audio clock; its buffer reports put the position right after an underrun. A
held stream plays nothing: its reference stops at the "held" report and goes on from the same
position at the report of the level change that sets it going again, so the echo of what follows
the hold is cancelled against the right samples.

That report and the mic frame that first hears the echo cross the same link, so they arrive
within a frame of each other, in either order. An echo canceller cannot remove echo that reaches
it before its reference, so the reference is fed ``lead`` samples early; WebRTC's AEC3 finds the
remaining delay itself. A cross-correlation estimate of the delay is kept, reported and given to
the APM, and a delay too long for AEC3 moves the reference at the next stream.

ERLE and the residual echo are measured on the frames where the answer played and the VAD heard
no wearer (``near_end``), the far-end-only periods.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sottovoce.proto import control
from sottovoce.proto.codec import FRAME_SAMPLES, SAMPLE_RATE, CodecError, OpusDecoder

if TYPE_CHECKING:
    from livekit import rtc

APM_SAMPLES = SAMPLE_RATE // 100  # the APM works on 10 ms frames
LEAD_FRAMES = 1  # reference fed this early: covers the report arriving a frame after the first echo
MAX_STREAM_FRAMES = 3000  # a minute of answer per stream, as the playback queue bounds it
MAX_DELAY_MS = 500  # longest delay the estimator looks for
DELAY_WINDOW_FRAMES = 50  # one second of audio per estimate
DELAY_EVERY_FRAMES = 25
TARGET_DELAY = 5 * SAMPLE_RATE // 1000  # samples the reference is put ahead of its echo when realigned
REALIGN_ABOVE = 120 * SAMPLE_RATE // 1000  # a longer delay is realigned (AEC3 cancels little there)
AGREE = SAMPLE_RATE // 1000  # ... once two estimates in a row agree to within this
MIN_CORRELATION = 0.5  # a weaker peak is no estimate (near-end speech, or no echo at all)
# AEC3 treats a quiet render signal as inactive and barely adapts to it, and a whisper in the ear
# is quiet (-42 dBFS and up): each stream's reference is brought to this level (measured on the
# demo's echo: 14 dB of ERLE at -44 dBFS, 28 dB at -32 dBFS).
REFERENCE_DBFS = -30.0
MAX_REFERENCE_GAIN_DB = 24.0
FULL_SCALE = 32768.0
SILENT_DBFS = -70.0  # a reference frame quieter than this is no far-end speech
ERLE_MAX_DB = 80.0


@dataclass
class EchoCounters:
    """Integers, like every counter of the edge; levels in dB, delays in ms."""

    far_end_frames: int = 0  # uplink frames heard while the answer played
    far_end_only_frames: int = 0  # ... with no near-end speech in them: ERLE is measured there
    erle_db: int = 0  # echo return loss enhancement over the far-end-only frames
    residual_echo_dbfs: int = -120  # RMS level left in them after cancellation
    delay_ms: int = -1  # estimated reference-to-mic delay (-1: not estimated yet)
    delay_estimates: int = 0
    realignments: int = 0  # times the reference was shifted to bring the delay to its target
    reference_missing: int = 0  # frames the device played that the edge had no reference for
    reference_overflow: int = 0  # frames beyond MAX_STREAM_FRAMES, not kept as reference
    reference_decode_errors: int = 0


@dataclass
class _Stream:
    stream_id: int
    decoder: OpusDecoder = field(default_factory=OpusDecoder)
    frames: list[np.ndarray] = field(default_factory=list)
    playing: bool = False
    position: int = 0  # samples of this stream played by the device, as placed on the uplink
    end: int | None = None  # the device stopped playing here (finished / flushed)
    held: bool = False  # held where it is by the edge, until a level change sets it going
    gain: float = 1.0  # applied to the reference (REFERENCE_DBFS)


def _frame(pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> rtc.AudioFrame:
    from livekit import rtc

    return rtc.AudioFrame(np.ascontiguousarray(pcm, dtype=np.int16).tobytes(), sample_rate, 1, len(pcm))


def _power(pcm: np.ndarray) -> float:
    x = pcm.astype(np.float64)
    return float(np.mean(x * x))


def _dbfs(power: float) -> float:
    return 10 * math.log10(max(power, 1e-12) / FULL_SCALE**2)


def _reference_gain(frames: list[np.ndarray]) -> float:
    """The gain that brings a stream's opening (its speech frames) to REFERENCE_DBFS."""
    powers = np.array([_power(f) for f in frames])
    active = powers[powers > FULL_SCALE**2 * 10 ** (SILENT_DBFS / 10)]
    if len(active) == 0:
        return 1.0
    level = 10 * math.log10(float(active.mean()) / FULL_SCALE**2)
    return float(10 ** (min(max(REFERENCE_DBFS - level, 0.0), MAX_REFERENCE_GAIN_DB) / 20))


def estimate_delay(reference: np.ndarray, mic: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The lag (samples, 0..max_lag) at which ``mic`` best matches ``reference`` delayed, and the
    normalised correlation there. Both arrays cover the same stretch of the uplink timeline."""
    ref = reference.astype(np.float64)
    m = mic.astype(np.float64)
    n = len(ref) + len(m)
    size = 1 << (n - 1).bit_length()
    spec = np.fft.irfft(np.fft.rfft(m, size) * np.conj(np.fft.rfft(ref, size)), size)
    corr = spec[: max_lag + 1]  # corr[k] = sum_i mic[i + k] * ref[i]
    # Normalise by the energy of the overlapping parts, so longer overlaps do not win by size.
    lags = np.arange(max_lag + 1)
    e_ref = np.cumsum(ref**2)[len(ref) - 1 - lags]  # ref[0 : len - k]
    e_mic = np.cumsum(m[::-1] ** 2)[::-1][lags]  # mic[k :]
    norm = np.sqrt(np.maximum(e_ref * e_mic, 1e-12))
    score = corr / norm
    best = int(np.argmax(score))
    return best, float(score[best])


class EchoCanceller:
    """WebRTC's audio processing module (AEC3 + high-pass) fed the downlink reference in play
    order; ``process`` cleans one 20 ms uplink frame."""

    def __init__(self, noise_suppression: bool = False, lead_frames: int = LEAD_FRAMES) -> None:
        self._noise_suppression = noise_suppression
        self._apm = self._new_apm()
        self.lead = lead_frames * FRAME_SAMPLES
        self.counters = EchoCounters()
        self._streams: dict[int, _Stream] = {}  # by stream id, in order of creation
        self._by_key: dict[int, _Stream] = {}  # by the caller's key (the response id)
        self._delay_ms = 0
        self._next_lead: int | None = None  # the reference's lead from the next stream on
        self._last_lag: int | None = None
        self._ref_history: deque[np.ndarray] = deque(maxlen=DELAY_WINDOW_FRAMES)
        self._mic_history: deque[np.ndarray] = deque(maxlen=DELAY_WINDOW_FRAMES)
        self._since_estimate = 0
        self._last: tuple[float, float, bool] | None = None  # mic power, output power, far end
        # the last frame's levels, dBFS: as heard, cancelled, and its reference (the onset cue reads them)
        self.last_dbfs: tuple[float, float, float] = (-120.0, -120.0, -120.0)
        self._in_energy = 0.0
        self._out_energy = 0.0

    def _new_apm(self) -> rtc.AudioProcessingModule:
        from livekit import rtc  # imported on first use: the daemon without AEC does not need it

        return rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=self._noise_suppression, high_pass_filter=True
        )

    # --- the reference -------------------------------------------------------------------------
    def start(self, key: int, stream_id: int) -> None:
        """A new downlink stream (``key``: the caller's id for it, e.g. the response id)."""
        stream = _Stream(stream_id)
        old = self._streams.pop(stream_id, None)  # stream ids wrap: a reused id is a new stream
        if old is not None:
            self._by_key = {k: s for k, s in self._by_key.items() if s is not old}
        self._streams[stream_id] = stream
        self._by_key[key] = stream
        while len(self._streams) > 8:  # bounded: the oldest streams are long over
            oldest = self._streams.pop(next(iter(self._streams)))
            self._by_key = {k: s for k, s in self._by_key.items() if s is not oldest}

    def add_reference(self, key: int, opus: bytes) -> None:
        """One Opus frame of stream ``key``, in the order it goes down."""
        s = self._by_key.get(key)
        if s is None:
            return
        if len(s.frames) >= MAX_STREAM_FRAMES:
            self.counters.reference_overflow += 1
            return
        try:
            s.frames.append(s.decoder.decode(opus))
        except CodecError:
            self.counters.reference_decode_errors += 1
            s.frames.append(s.decoder.conceal())

    def on_report(self, msg: control.ControlMessage) -> None:
        """The device's playback and buffer reports: where its speaker is in each stream."""
        if isinstance(msg, control.PlaybackReport):
            s = self._streams.get(msg.stream)
            if s is None:
                return
            if msg.event == "started":
                s.playing, s.position, s.end = True, 0, None
                s.gain = _reference_gain(s.frames[:DELAY_WINDOW_FRAMES])
                if self._next_lead is not None and self._next_lead != self.lead:
                    self.lead, self._next_lead = self._next_lead, None
                    self.counters.realignments += 1
                    self._ref_history.clear()
                    self._mic_history.clear()
                    self._last_lag = None
            elif msg.event == "underrun":
                s.playing, s.position = False, msg.sample
            elif msg.event == "held":
                s.playing, s.held, s.position = False, True, msg.sample
            elif msg.event in ("ducked", "restored") and s.held and s.end is None:
                s.playing, s.held, s.position = True, False, msg.sample
            elif msg.event in ("finished", "flushed"):
                s.end = msg.sample
        elif isinstance(msg, control.BufferReport):
            s = self._streams.get(msg.stream)
            if s is None or s.end is not None or s.held:
                return
            if not s.playing and msg.played > s.position:  # playing again after an underrun
                s.playing, s.position = True, msg.played
            elif s.playing and abs(s.position - msg.played) > 2 * FRAME_SAMPLES:
                s.position = msg.played

    def reset(self) -> None:
        """The device reconnected: its buffer is gone, and so is every stream. The echo path is
        the same glasses', so the APM keeps what it learned."""
        self._streams.clear()
        self._by_key.clear()

    def _reference(self) -> np.ndarray:
        """The reference for this uplink frame: what the speaker plays ``lead`` samples ahead.

        Exactly one frame per uplink frame, even when a stream starts or its position is put
        right: AEC3 reads a burst of render frames as render-buffer jitter and loses the echo's
        alignment (measured: ERLE fell from ~30 to ~5 dB), whereas the samples skipped at a
        stream's start cost only the echo of its first frame."""
        s = next((s for s in reversed(self._streams.values()) if s.playing), None)
        if s is None:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        s.position += FRAME_SAMPLES
        upto = s.position + self.lead
        if s.end is not None and s.position >= s.end + self.lead:
            s.playing = False  # its echo has died away
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        for i in range(2):  # the samples upto - 320 .. upto span at most two stored frames
            index = (upto - FRAME_SAMPLES) // FRAME_SAMPLES + i
            lo = max(index * FRAME_SAMPLES, upto - FRAME_SAMPLES)
            hi = min((index + 1) * FRAME_SAMPLES, upto, s.end if s.end is not None else upto)
            if hi <= lo or index < 0:
                continue
            if index >= len(s.frames):
                # Reading ahead past what has come down is normal near a stream's end; a frame
                # the device has already played is not.
                if index * FRAME_SAMPLES < s.position:
                    self.counters.reference_missing += 1
                continue
            out[lo - (upto - FRAME_SAMPLES) : hi - (upto - FRAME_SAMPLES)] = s.frames[index][
                lo - index * FRAME_SAMPLES : hi - index * FRAME_SAMPLES
            ]
        if s.gain != 1.0:
            out = np.clip(np.round(out * s.gain), -32768, 32767).astype(np.int16)
        return out

    # --- per uplink frame ----------------------------------------------------------------------
    def process(self, pcm: np.ndarray) -> np.ndarray:
        """One 20 ms int16 uplink frame, in order; returns it with the echo removed."""
        ref = self._reference()
        for i in range(0, FRAME_SAMPLES, APM_SAMPLES):
            self._apm.process_reverse_stream(_frame(ref[i : i + APM_SAMPLES]))
        out = np.empty(FRAME_SAMPLES, dtype=np.int16)
        for i in range(0, FRAME_SAMPLES, APM_SAMPLES):
            frame = _frame(pcm[i : i + APM_SAMPLES])
            self._apm.set_stream_delay_ms(self._delay_ms)
            self._apm.process_stream(frame)
            out[i : i + APM_SAMPLES] = np.frombuffer(bytes(frame.data), dtype=np.int16)
        far = _power(ref) > FULL_SCALE**2 * 10 ** (SILENT_DBFS / 10)
        self._ref_history.append(ref)
        self._mic_history.append(pcm.astype(np.int16))
        self._last = (_power(pcm), _power(out), far)
        self.last_dbfs = (_dbfs(self._last[0]), _dbfs(self._last[1]), _dbfs(_power(ref)))
        if far:
            self.counters.far_end_frames += 1
            self._since_estimate += 1
            if self._since_estimate >= DELAY_EVERY_FRAMES and len(self._ref_history) == DELAY_WINDOW_FRAMES:
                self._since_estimate = 0
                self._estimate_delay()
        return out

    def _estimate_delay(self) -> None:
        lag, score = estimate_delay(
            np.concatenate(self._ref_history),
            np.concatenate(self._mic_history),
            MAX_DELAY_MS * SAMPLE_RATE // 1000,
        )
        if score < MIN_CORRELATION:
            return
        self.counters.delay_estimates += 1
        self.counters.delay_ms = round(lag * 1000 / SAMPLE_RATE)
        # AEC3 cancels best with the reference just ahead of the echo, but takes seconds to
        # re-converge after the reference moves (measured: ~40 dB of ERLE at a steady 4 ms, under
        # 20 dB for several seconds after a 5 ms shift), so only a delay it cannot follow is
        # realigned, and the shift waits for the next stream to start.
        if lag > REALIGN_ABOVE and self._last_lag is not None and abs(lag - self._last_lag) <= AGREE:
            self._next_lead = self.lead - (lag - TARGET_DELAY)
        self._last_lag = lag
        self._delay_ms = round(lag * 1000 / SAMPLE_RATE)

    def near_end(self, speech: bool) -> None:
        """Whether the frame just processed held the wearer's speech (the VAD's reading): ERLE and
        the residual echo are measured on far-end-only frames."""
        if self._last is None:
            return
        mic_power, out_power, far = self._last
        self._last = None
        if not far or speech:
            return
        c = self.counters
        c.far_end_only_frames += 1
        self._in_energy += mic_power
        self._out_energy += out_power
        floor = self._in_energy * 10 ** (-ERLE_MAX_DB / 10)
        c.erle_db = round(10 * math.log10(max(self._in_energy, 1e-12) / max(self._out_energy, floor, 1e-12)))
        residual = self._out_energy / c.far_end_only_frames / FULL_SCALE**2
        c.residual_echo_dbfs = round(10 * math.log10(max(residual, 1e-12)))
