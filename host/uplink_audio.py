"""The wearer's audio on the host: Opus frames from the edge decoded into a rolling PCM buffer
addressed by the edge's frame sequence numbers, plus the ambient noise floor.

Turn events name frames by ``audio_seq``, so the buffer keeps one 20 ms slot per sequence number:
a gap in the sequence is concealed (Opus PLC for a short gap, silence beyond) so that a frame's
position never drifts from its number.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from sottovoce.proto.codec import FRAME_SAMPLES, MAX_GAP_FRAMES, MAX_PLC_FRAMES, CodecError, OpusDecoder, fill_gap
from sottovoce.proto.timeline import AUDIO_SEQ


@dataclass
class UplinkCounters:
    frames: int = 0
    concealed: int = 0
    silent_filled: int = 0
    undecodable: int = 0
    late_or_duplicate: int = 0
    restarts: int = 0


class NoiseFloor:
    """Ambient level from frames outside the wearer's turns: a low percentile of recent frame
    levels, so a passing voice or the wearer's breath does not lift it."""

    def __init__(self, window_frames: int = 250, percentile: float = 30.0) -> None:
        self._levels: deque[float] = deque(maxlen=window_frames)
        self.percentile = percentile

    def add(self, pcm: np.ndarray) -> None:
        rms = math.sqrt(float(np.mean(pcm.astype(np.float64) ** 2))) / 32768.0
        self._levels.append(20 * math.log10(max(rms, 1e-5)))  # floor at -100 dBFS

    @property
    def dbfs(self) -> float | None:
        if len(self._levels) < 10:
            return None
        return float(np.percentile(np.fromiter(self._levels, float), self.percentile))


class UplinkAudio:
    def __init__(self, keep_s: float = 30.0) -> None:
        self._frames: deque[np.ndarray] = deque(maxlen=int(keep_s * 1000 / 20))
        self._first_seq = 0  # seq of self._frames[0]
        self._next_seq: int | None = None
        self.decoder = OpusDecoder()
        self.counters = UplinkCounters()
        self.noise = NoiseFloor()
        self.in_turn = False  # frames inside a turn are speech, not ambience

    @property
    def last_seq(self) -> int | None:
        return None if self._next_seq is None else AUDIO_SEQ.add(self._next_seq, -1)

    def _append(self, pcm: np.ndarray) -> None:
        if len(self._frames) == self._frames.maxlen:
            self._first_seq = AUDIO_SEQ.add(self._first_seq)
        self._frames.append(pcm)
        if not self.in_turn:
            self.noise.add(pcm)

    def push(self, seq: int, packet: bytes) -> None:
        """Add one frame. Raises CodecError for an undecodable packet (its slot is concealed, so
        the timeline stays aligned). Late or duplicate frames are counted and dropped."""
        if self._next_seq is None:
            self._first_seq = self._next_seq = seq
        ahead = AUDIO_SEQ.delta(self._next_seq, seq)
        if ahead < 0:
            self.counters.late_or_duplicate += 1
            return
        if ahead > MAX_GAP_FRAMES:
            self.counters.restarts += 1
            self._frames.clear()
            self._first_seq = seq
            ahead = 0
        for pcm in fill_gap(self.decoder, ahead, packet):
            self._append(pcm)
        self.counters.concealed += min(ahead, MAX_PLC_FRAMES)
        self.counters.silent_filled += max(0, ahead - MAX_PLC_FRAMES)
        self._next_seq = AUDIO_SEQ.add(seq)
        try:
            pcm = self.decoder.decode(packet)
        except CodecError:
            self.counters.undecodable += 1
            self._append(self.decoder.conceal())
            raise
        self.counters.frames += 1
        self._append(pcm)

    def _index(self, seq: int) -> int:
        """Position of ``seq`` in the buffer (negative if it fell off the front)."""
        return AUDIO_SEQ.delta(self._first_seq, seq)

    def slice(self, first_seq: int, last_seq: int | None = None) -> np.ndarray:
        """Samples of frames first_seq..last_seq inclusive (to the newest frame if None), clipped
        to what the buffer still holds."""
        if not self._frames:
            return np.zeros(0, dtype=np.int16)
        start = max(0, self._index(first_seq))
        end = len(self._frames) if last_seq is None else min(len(self._frames), self._index(last_seq) + 1)
        if end <= start:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([self._frames[i] for i in range(start, end)])

    def samples_since(self, first_seq: int) -> int:
        return max(0, len(self._frames) - max(0, self._index(first_seq))) * FRAME_SAMPLES
