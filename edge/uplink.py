"""Uplink: Omi audio notifications -> Opus frames (forwarded untouched) + PCM (for VAD and turns).

Lost frames are concealed (Opus PLC) so the local audio timeline never skips, and each frame
gets an edge sequence number that the host uses to line turn events up with audio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sottovoce.proto.codec import CodecError, OpusDecoder
from sottovoce.proto.gatt.audio import FramingError, UplinkReassembler
from sottovoce.proto.intake import Intake
from sottovoce.proto.timeline import AUDIO_SEQ

log = logging.getLogger(__name__)

MAX_CONCEALED_RUN = 10  # longer gaps are a dropout, not loss: don't invent 200+ ms of audio


@dataclass(frozen=True)
class UplinkFrame:
    seq: int  # edge frame counter, concealed frames included
    opus: bytes | None  # the device's packet, or None for a concealed frame
    pcm: np.ndarray  # 320 int16 samples


@dataclass
class UplinkCounters:
    frames: int = 0
    concealed: int = 0
    malformed_notifications: int = 0
    undecodable: int = 0


class Uplink:
    def __init__(self, on_frame: Callable[[UplinkFrame], None], att_mtu: int) -> None:
        self.on_frame = on_frame
        self.counters = UplinkCounters()
        self.decoder = OpusDecoder()
        self.reassembler = UplinkReassembler(self._on_opus, att_mtu)
        self._feed = Intake("audio notification", self.reassembler.feed, FramingError, self.counters,
                            "malformed_notifications", log)  # fmt: skip
        self._decode = Intake("undecodable audio frame (concealed)", self.decoder.decode, CodecError, self.counters,
                              "undecodable", log)  # fmt: skip
        self._seq = 0

    def set_mtu(self, att_mtu: int) -> None:
        self.reassembler.att_mtu = att_mtu

    def feed(self, notification: bytes) -> None:
        """One audio notification; malformed ones are counted and dropped, never raised."""
        self._feed(notification)

    def _on_opus(self, packet: bytes, lost_before: int) -> None:
        for _ in range(min(lost_before, MAX_CONCEALED_RUN)):
            self.counters.concealed += 1
            self._emit(None, self.decoder.conceal(packet))
        pcm = self._decode(packet)
        if pcm is None:
            self._emit(None, self.decoder.conceal())
            return
        self._emit(packet, pcm)

    def _emit(self, packet: bytes | None, pcm: np.ndarray) -> None:
        frame = UplinkFrame(self._seq, packet, pcm)
        self._seq = AUDIO_SEQ.add(self._seq)
        self.counters.frames += 1
        self.on_frame(frame)
