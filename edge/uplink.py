"""Uplink: Omi audio notifications -> Opus frames (forwarded untouched) + PCM (for VAD and turns).

Every frame gets its number on the conversation's audio timeline (``AudioTimeline``), which the
host uses to line turn events up with audio. Lost frames are stood in for by the rule every
receiver shares (``codec.fill_gap``), so the timeline never skips while the device is connected;
while it is away, the timeline goes on counting, so the host files what comes after a
reconnect as new audio, never as late audio from before.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sottovoce.proto.codec import FRAME_MS, MAX_GAP_FRAMES, CodecError, OpusDecoder, fill_gap
from sottovoce.proto.gatt.audio import FramingError, UplinkReassembler
from sottovoce.proto.intake import Intake
from sottovoce.proto.timeline import AUDIO_SEQ

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UplinkFrame:
    seq: int  # the frame's number on the conversation's audio timeline
    opus: bytes | None  # the device's packet, or None for a frame stood in for a lost one
    pcm: np.ndarray  # 320 int16 samples


class AudioTimeline:
    """The conversation's frame numbers, one timeline across device reconnects.

    While the device is connected, numbers follow the frames (stood-in frames included). After an
    absence, numbering resumes where the audio clock is: the frames the absence lasted are
    skipped, so audio time between two frame numbers stays real time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next = 0
        self._last_at: float | None = None  # when the newest frame was numbered

    @property
    def next_seq(self) -> int:
        return self._next

    def take(self) -> int:
        """The number of the next frame."""
        seq, self._next = self._next, AUDIO_SEQ.add(self._next)
        self._last_at = self._clock()
        return seq

    def skip(self, frames: int) -> None:
        """Frames that happened but will never be heard (a dropout too long to stand in for)."""
        self._next = AUDIO_SEQ.add(self._next, frames)

    def resume(self) -> int:
        """The device is back: skip the frames of its absence; how many that was."""
        if self._last_at is None:
            return 0
        absent = max(0, math.floor((self._clock() - self._last_at) * 1000 / FRAME_MS) - 1)
        self.skip(absent)
        return absent


@dataclass
class UplinkCounters:
    frames: int = 0
    concealed: int = 0
    skipped: int = 0  # frames of dropouts too long to stand in for, and of the device's absences
    malformed_notifications: int = 0
    undecodable: int = 0
    connections: int = 0


class Uplink:
    def __init__(self, on_frame: Callable[[UplinkFrame], None], timeline: AudioTimeline | None = None) -> None:
        self.on_frame = on_frame
        self.timeline = timeline or AudioTimeline()
        self.counters = UplinkCounters()
        self.decoder = OpusDecoder()
        self.reassembler = UplinkReassembler(self._on_opus)
        self._feed = Intake("audio notification", lambda data: self.reassembler.feed(data), FramingError,
                            self.counters, "malformed_notifications", log)  # fmt: skip
        self._decode = Intake("undecodable audio frame (concealed)", self.decoder.decode, CodecError, self.counters,
                              "undecodable", log)  # fmt: skip

    def connected(self, att_mtu: int) -> None:
        """A (re)connected device: its notification ids and codec state start afresh, and the
        timeline skips the time it was away."""
        self.counters.connections += 1
        self.reassembler = UplinkReassembler(self._on_opus, att_mtu)
        self.decoder.reset()
        self.counters.skipped += self.timeline.resume()

    def feed(self, notification: bytes) -> None:
        """One audio notification; malformed ones are counted and dropped, never raised."""
        self._feed(notification)

    def _on_opus(self, packet: bytes, lost_before: int) -> None:
        if lost_before > MAX_GAP_FRAMES:
            self.counters.skipped += lost_before
            self.timeline.skip(lost_before)
        else:
            for pcm in fill_gap(self.decoder, lost_before, packet):
                self.counters.concealed += 1
                self._emit(None, pcm)
        pcm = self._decode(packet)
        if pcm is None:
            self._emit(None, self.decoder.conceal())
            return
        self._emit(packet, pcm)

    def _emit(self, packet: bytes | None, pcm: np.ndarray) -> None:
        frame = UplinkFrame(self.timeline.take(), packet, pcm)
        self.counters.frames += 1
        self.on_frame(frame)
